"""What a process builds once: built on the first use only, whatever the threads."""

from __future__ import annotations

import threading
import time

from entraide.kernel.once import Once


def test_nothing_is_built_before_the_first_use_and_once_after() -> None:
    # Given a value that counts its builds
    builds: list[int] = []

    def build() -> int:
        builds.append(1)
        return len(builds)

    once = Once(build)
    # Then nothing is built until asked, and asking again gives the same value
    assert builds == []
    assert once.get() == 1
    assert once.get() == 1
    assert builds == [1]


def test_threads_asking_together_share_one_build() -> None:
    # Given a slow build asked for by eight threads at once
    builds: list[int] = []

    def build() -> object:
        builds.append(1)
        time.sleep(0.05)
        return object()

    once = Once(build)
    got: list[object] = []
    threads = [threading.Thread(target=lambda: got.append(once.get())) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # Then it was built once and every thread got that one value
    assert len(builds) == 1
    assert len({id(value) for value in got}) == 1


def test_a_value_that_is_none_is_kept_too() -> None:
    calls: list[int] = []
    once = Once(lambda: calls.append(1))
    assert once.get() is None
    assert once.get() is None
    assert calls == [1]

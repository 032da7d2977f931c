"""Memory of the local stack (`make run`) against posts pushed through the whole pipeline.

The stack runs template.yaml in this process, as `make run` does (moto's server included),
its functions in worker processes. Each post goes all the way: POST /offers, the moderators'
email, the approval through the signed link, the announcement to the relay (a dry-run
tweet) and the search for counterparts. Every `--every` posts the script prints the
resident memory of this process and of the workers and fork servers (RSS, and PSS, which
shares the pages workers have in common with their fork server fairly among them). The
figure must stay flat: the table and the mails grow by kilobytes per post, not megabytes.

    .venv/bin/python bench/local_stack_memory.py [--posts 200] [--every 25]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import socket
import sys
import tempfile
import time
from email import message_from_bytes, policy
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import requests

from entraide.cli import main as entraide
from entraide_local.stack import LocalStack

_LINK = re.compile(r"https?://\S+/moderation/\S+")
_TOWNS = [("11000", "Carcassonne"), ("11800", "Trèbes"), ("11100", "Narbonne")]
_CATEGORIES = ["hebergement", "transport", "nettoyage", "materiel", "repas"]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def _memory_kb(pid: int, field: str) -> int:
    """VmRSS (status) or Pss (smaps_rollup) of a process, in kB; 0 when it is gone."""
    source = "smaps_rollup" if field == "Pss" else "status"
    try:
        text = Path(f"/proc/{pid}/{source}").read_text()
    except OSError:
        return 0
    found = re.search(rf"^{field}:\s+(\d+) kB", text, re.MULTILINE)
    return int(found.group(1)) if found else 0


def _figures(stack: LocalStack) -> tuple[float, float, float, int]:
    """MB: this process's RSS, the workers' RSS, everything's PSS; and the worker count."""
    workers: list[int] = getattr(stack, "worker_pids", list)()  # none before workers existed
    own = _memory_kb(os.getpid(), "VmRSS")
    others = sum(_memory_kb(pid, "VmRSS") for pid in workers)
    pss = sum(_memory_kb(pid, "Pss") for pid in [os.getpid(), *workers])
    return own / 1024, others / 1024, pss / 1024, len(workers)


class _Outbox:
    """The moderation links of new emails, reading each file once."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.seen: set[Path] = set()

    def approve_links(self) -> dict[str, str]:
        links = {}
        for path in sorted(set(self.folder.glob("*.eml")) - self.seen):
            self.seen.add(path)
            message = message_from_bytes(path.read_bytes(), policy=policy.default)
            part = message.get_body(preferencelist=("plain",))
            text = part.get_content() if part is not None else ""
            for link in _LINK.findall(text):
                query = parse_qs(urlsplit(link).query)
                if query.get("decision") == ["approve"]:
                    links[link.split("/moderation/")[1].split("?")[0]] = link
        return links


def _push_post(stack: LocalStack, outbox: _Outbox, number: int) -> None:
    postcode, commune = _TOWNS[number % len(_TOWNS)]
    response = requests.post(
        stack.api_url + "offers",
        json={
            # needs only: each post is searched for counterparts and finds none, so that the
            # data a post adds stays the same (offers would match every earlier need nearby)
            "kind": "need",
            "category": _CATEGORIES[number % len(_CATEGORIES)],
            "title": f"Annonce de mesure {number}",
            "description": "Une annonce pour mesurer la mémoire de la pile locale.",
            "postcode": postcode,
            "commune": commune,
            "email": f"mesure{number}@example.org",
            "consent": True,
        },
        timeout=30,
    )
    response.raise_for_status()
    post_id = response.json()["id"]
    stack.drain(timeout=60)
    link = outbox.approve_links()[post_id]
    query = parse_qs(urlsplit(link).query)
    decided = requests.post(
        link.split("?")[0],
        data={"decision": "approve", "token": query["token"][0]},
        timeout=30,
    )
    decided.raise_for_status()
    stack.drain(timeout=60)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=200)
    parser.add_argument("--every", type=int, default=25)
    parser.add_argument("--template", default="template.yaml")
    args = parser.parse_args()
    logging.getLogger("entraide_local").setLevel(logging.WARNING)

    with tempfile.TemporaryDirectory() as folder:
        outbox = Path(folder) / "outbox"
        replay = Path("infra/replay/HANDMADE_vigicrues_orange_aude.json").resolve()
        port = _free_port()
        parameters = {
            "OutboxDir": str(outbox),
            "PublicBaseUrl": f"http://127.0.0.1:{port}/",
            # no posting cap: past X's, the relay holds messages back for hours (a digest)
            "XQuota": "per_24h=1000000",
            "AlertSources": json.dumps([{"name": "vigicrues", "url": str(replay)}]),
        }
        with LocalStack(
            args.template, port=port, parameters=parameters, state_dir=Path(folder) / "var"
        ) as stack:
            state = ["--state-dir", str(Path(folder) / "var")]
            opened = ["activation", "open", "-d", "11", "--hazard", "inondation", *state]
            if entraide(opened) != 0:
                raise SystemExit("cannot open an activation")
            reader = _Outbox(outbox)
            print(f"{'posts':>6}{'stack RSS MB':>14}{'workers RSS MB':>16}{'all PSS MB':>12}"
                  f"{'workers':>9}{'s/post':>8}")  # fmt: skip
            first: tuple[int, float] | None = None
            started = time.monotonic()
            for number in range(args.posts + 1):
                if number % args.every == 0:
                    own, workers, pss, count = _figures(stack)
                    pace = (time.monotonic() - started) / max(1, number)
                    print(f"{number:>6}{own:>14.0f}{workers:>16.0f}{pss:>12.0f}"
                          f"{count:>9}{pace:>8.2f}", flush=True)  # fmt: skip
                    if number == args.every:
                        first = (number, own + workers)
                    last = (number, own + workers)
                if number < args.posts:
                    _push_post(stack, reader, number)
            if first is not None and last[0] > first[0]:
                slope = (last[1] - first[1]) / (last[0] - first[0]) * 100
                print(f"growth after the first {first[0]} posts: {slope:+.1f} MB per 100 posts")
    return 0


if __name__ == "__main__":
    sys.exit(main())

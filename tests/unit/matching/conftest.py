"""Matching's set-ups: a clock the tests move, and contact links signed with a test key."""

from __future__ import annotations

import pytest

from entraide.matching.contact_links import CONTACT_LINK_TTL, ContactLinks
from entraide.moderation.signing import LinkSigner
from tests.factories import BASE, LINK_KEY, Clock


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def links(clock: Clock) -> ContactLinks:
    return ContactLinks(
        signer=lambda: LinkSigner(LINK_KEY, ttl=CONTACT_LINK_TTL, now=clock), public_base_url=BASE
    )

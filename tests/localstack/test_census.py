"""The fault run's census: what it counts lost, and what it shows of a lost match notice."""

from __future__ import annotations

from entraide.kernel.model import Kind
from entraide_local.faultrun.census import Census
from entraide_local.faultrun.pipeline import Observed, Pipeline
from entraide_local.faultrun.world import Scenario

NEED_ID, OFFER_ID = "01NEED000000000000000000AA", "01OFFER00000000000000000AA"


def _run_without_notices() -> tuple[Pipeline, Observed, str, str]:
    """A run of one pair, matched, whose person in need was emailed and the helper not."""
    pipeline = Pipeline(Scenario(posts=2, fault_rate=0.0, seed=1))
    need = next(post for post in pipeline.planned if post.kind is Kind.NEED)
    offer = next(post for post in pipeline.planned if post.kind is Kind.OFFER)
    link = f"https://entraide.example/contact/{OFFER_ID}?need={NEED_ID}&sig=x"
    observed = Observed(
        post_ids={need.index: NEED_ID, offer.index: OFFER_ID},
        decisions={NEED_ID: 1, OFFER_ID: 1},
        stream_records=0,
        emails=[(need.email, "1 offre d'aide près de chez vous", f"Contacter : {link}")],
        announcements=[],
        tweets=[],
        matches=[(NEED_ID, OFFER_ID)],
        contacts_per_email={need.email: 1, offer.email: 1},
        failure_queues={},
        dead_letters=0,
        ledger={
            "notice:h-offer:0123456789abcdef": "notice:h-offer:0123456789abcdef: email=claimed",
            "notice:h-need:fedcba9876543210": "notice:h-need:fedcba9876543210: email=done",
        },
        notice_items={"h-offer": ["NOTICE#h-o PENDING#2026-12-07T18:00:00Z#n#o queued_at=…"]},
        pseudonyms={"h-need": need.email, "h-offer": offer.email},
    )
    return pipeline, observed, need.email, offer.email


def test_a_lost_match_notice_shows_its_recipients_emails_and_notice_items() -> None:
    # Given a run where the helper never got the notice of their match
    pipeline, observed, _, helper = _run_without_notices()
    census = Census(pipeline, observed)
    # When the census looks for what was lost
    lost = census.lost_subjects()
    lines = census.diagnosis()
    # Then the helper's notice is lost, and its diagnosis shows the helper's own email
    # subject and pending notice (named by pseudonym), not the other person's
    assert ("match notices", f"{NEED_ID}>{OFFER_ID}>{helper}") in lost
    start = lines.index(f"lost: match notices {NEED_ID}>{OFFER_ID}>{helper}")
    shown = lines[start + 1 : start + 3]
    assert shown == [
        "    ledger notice:h-offer:0123456789abcdef: email=claimed",
        "    NOTICE#h-o PENDING#2026-12-07T18:00:00Z#n#o queued_at=…",
    ]
    assert not any("h-need" in line for line in lines)


def test_a_notice_subject_is_known_by_its_recipients_pseudonym() -> None:
    # Given the ledger names the helper's email by the pseudonym their contact carries
    pipeline, observed, _, helper = _run_without_notices()
    census = Census(pipeline, observed)
    # When a write of that subject lost its answer
    about = dict.fromkeys(census._ledger_subjects("notice:h-offer:0123456789abcdef"))
    # Then a second email to the helper about that match is explained by it
    assert ("match notices", f"{NEED_ID}>{OFFER_ID}>{helper}") in about

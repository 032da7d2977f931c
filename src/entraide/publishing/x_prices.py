"""What each call to X costs, and how a monthly budget in dollars is paced over the month.

Prices (X API, "pay-per-usage" pricing page, docs.x.com, read 2026-12): credits bought in
advance, no subscription; rate limits still apply (``POST /2/tweets``: 100 per 15 minutes
per user, 10,000 per 24 hours per app).

=============================  =========  ======================
call                           price      here
=============================  =========  ======================
create a post                  $0.015     ``CREATE``
create a post with a URL       $0.200     ``CREATE_WITH_URL``
read a post                    $0.005     ``READ_POST``
read a user                    $0.010     ``READ_USER``
read own data (posts, mentions,
followers of the account)      $0.001     ``READ_OWNED``
delete a post                  $0.010     ``DELETE``
=============================  =========  ======================

Amounts are kept in *millidollars* (integers: every price above is a whole number of them),
so that a budget in the table is counted exactly.

**Pacing.** A monthly budget ``B`` keeps a reserve ``r·B`` for activation announcements
(an opening must never wait for money). Everything else may have spent, at a moment ``t``
of the month, at most ``(1 − r)·B · (elapsed(t) + one day) / length of the month``: the
month's money arrives day by day, a day ahead, so that a surge on the 2nd cannot spend the
30th's, and what a quiet week left unspent is there for the next surge. Activation
announcements may also spend the reserve (at most ``B`` in all). When the pace says no, the
relay waits until it says yes (:func:`affordable_at`), and meanwhile the posts gather into
digests: nothing is dropped.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Final, Literal

#: The prices, in millidollars (see the table above).
CREATE: Final = 15
CREATE_WITH_URL: Final = 200
READ_POST: Final = 5
READ_USER: Final = 10
READ_OWNED: Final = 1
DELETE: Final = 10
#: Where the prices come from, for the report and the README.
PRICES_SOURCE: Final = 'docs.x.com, "pay-per-usage" pricing, read 2026-12'

#: Who spends: a kind of message, a deletion (counted, never refused: see
#: :class:`~entraide.publishing.quota.Money`), or the snapshot's reads (paced as posts).
Spender = Literal["post", "digest", "activation", "deletion", "read"]
HEAD_START: Final = timedelta(days=1)


def millidollars(dollars: float) -> int:
    return round(dollars * 1000)


def dollars(amount: int) -> float:
    return amount / 1000


def create_price(*, with_url: bool) -> int:
    return CREATE_WITH_URL if with_url else CREATE


def _month(now: datetime) -> tuple[datetime, datetime]:
    start = now.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    end = (start + timedelta(days=32)).replace(day=1)
    return start, end


def allowance(budget: int, reserve: float, now: datetime, spender: Spender) -> int:
    """What may have been spent by ``now`` this month (millidollars) by ``spender``."""
    start, end = _month(now)
    share = min(1.0, (now - start + HEAD_START) / (end - start))
    paced = int(budget * (1 - reserve) * share)
    if spender == "activation":
        return min(budget, paced + int(budget * reserve))
    return paced


def affordable_at(
    budget: int, reserve: float, spent: int, cost: int, now: datetime, spender: Spender
) -> datetime:
    """The first moment the pace lets ``spender`` spend ``cost`` more (the next month's
    start when this month cannot)."""
    start, end = _month(now)
    if spender == "activation" and spent + cost <= budget:
        paced_needed = spent + cost - int(budget * reserve)
    else:
        paced_needed = spent + cost
    pace = budget * (1 - reserve)
    if paced_needed <= 0:
        return now
    if pace <= 0 or paced_needed > pace:
        return end
    share = paced_needed / pace
    at = start + share * (end - start) - HEAD_START
    return max(now, min(end, at + timedelta(seconds=1)))

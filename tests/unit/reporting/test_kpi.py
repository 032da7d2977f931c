"""Monthly KPIs: a seeded month whose every figure is known, read back through the indexes.

October 2026 (UTC). Activations: A4 (crues, Gard) opened in June and still open, A5
(orages) opened in July and closed on 2 October, A0 (inondations, Aude) opened on
28 September and closed on 4 October, A1 (tempête, Hérault) opened on 12 October and
still open; A2 opened and closed in August (not part of October).

Posts created in October: 8 (5 needs, 3 offers); decisions taken in October: 8, two of
them on posts created on 30 September; P08, created on 31 October, is decided on
1 November. Three matches. Six tweets (3 individual, 1 digest, 2 activation
announcements), their metrics read daily, followers read daily.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from entraide.activation.activation_store import ActivationStore
from entraide.adapters.table import Table
from entraide.intake.post_store import PostStore
from entraide.kernel.model import AlertLevel, Category, Contact, Hazard, Kind, PostStatus
from entraide.matching.match_store import MatchStore
from entraide.publishing.relay_store import DynamoDBRelayStore, TweetRecord
from entraide.reporting.figures import (
    ActivationFigures,
    DayCount,
    Figure,
    HashtagCount,
    MatchFacts,
    MonthData,
    MonthlyReport,
    PostFacts,
    TweetFacts,
    WeekFigures,
    month_bounds,
    month_label,
    percentile,
    report_month,
    shift_month,
)
from entraide.reporting.kpi import compute_month, hashtags_of
from entraide.reporting.month_loader import load_month, monthly_report
from entraide.reporting.snapshot_store import SnapshotStore
from entraide.reporting.snapshots import FollowerSnapshot, TopFollower, TweetMetrics
from tests.factories import PSEUDONYMS, RETENTION, make_activation, make_post

MONTH = "2026-10"
GENERATED = datetime(2026, 11, 1, 6, 0, tzinfo=UTC)


def at(month: int, day: int, hour: int = 0, minute: int = 0, year: int = 2026) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


# --- the seeded month --------------------------------------------------------------------


@dataclass(frozen=True)
class SeedPost:
    post_id: str
    kind: Kind
    category: Category
    departement: str
    activation_id: str
    created_at: datetime
    decision: PostStatus | None = None  # APPROVED / REJECTED
    decided_at: datetime | None = None
    ended: PostStatus | None = None  # WITHDRAWN / EXPIRED after approval
    ended_at: datetime | None = None


NEED, OFFER = Kind.NEED, Kind.OFFER
C = Category
APPROVED, REJECTED = PostStatus.APPROVED, PostStatus.REJECTED

SEED_POSTS = (
    SeedPost("P01", NEED, C.HEBERGEMENT, "11", "A0", at(10, 1, 8), APPROVED, at(10, 1, 9)),
    SeedPost("P02", OFFER, C.TRANSPORT, "11", "A0", at(10, 1, 10), APPROVED, at(10, 1, 10, 30)),
    SeedPost("P03", NEED, C.REPAS, "34", "A0", at(10, 2, 12), REJECTED, at(10, 2, 14)),
    SeedPost("P04", OFFER, C.HEBERGEMENT, "34", "A1", at(10, 12, 7), APPROVED, at(10, 12, 7, 10)),
    SeedPost(
        "P05",
        NEED,
        C.NETTOYAGE,
        "34",
        "A1",
        at(10, 12, 8),
        APPROVED,
        at(10, 12, 12),
        PostStatus.WITHDRAWN,
        at(10, 20),
    ),
    SeedPost(
        "P06",
        OFFER,
        C.NETTOYAGE,
        "30",
        "A4",
        at(10, 13, 9),
        APPROVED,
        at(10, 14, 9),
        PostStatus.EXPIRED,
        at(10, 25),
    ),
    SeedPost("P07", NEED, C.MATERIEL, "30", "A4", at(10, 20, 18)),
    # created on the 31st, approved on the 1st: October's post, November's decision
    SeedPost("P08", NEED, C.HEBERGEMENT, "34", "A1", at(10, 31, 22), APPROVED, at(11, 1, 7)),
    # created in September, decided in October: October's decisions
    SeedPost("S01", OFFER, C.GARDE, "11", "A0", at(9, 30, 20), APPROVED, at(10, 1, 8)),
    SeedPost("S02", NEED, C.AUTRE, "11", "A0", at(9, 30, 23), REJECTED, at(10, 1, 1)),
    # created and decided in September: nothing of October
    SeedPost("S03", NEED, C.REPAS, "11", "A0", at(9, 29, 15), APPROVED, at(9, 29, 16)),
)

SEED_ACTIVATIONS = (
    # id, hazard, départements, level, hashtag, opened, closed
    ("A4", Hazard.CRUES, ("30",), AlertLevel.ORANGE, "#CruesGard", at(6, 15, 10), None),
    ("A5", Hazard.ORAGES, ("13",), AlertLevel.ORANGE, "#Orages13", at(7, 20, 4), at(10, 2, 18)),
    ("A2", Hazard.ORAGES, ("13",), AlertLevel.ROUGE, "#OragesAout", at(8, 1), at(8, 5)),
    (
        "A0",
        Hazard.INONDATION,
        ("11",),
        AlertLevel.ROUGE,
        "#InondationsAude",
        at(9, 28, 14),
        at(10, 4, 9),
    ),
    (
        "A1",
        Hazard.VENT_VIOLENT,
        ("34", "30"),
        AlertLevel.ORANGE,
        "#TempeteHerault",
        at(10, 12, 6),
        None,
    ),
)

TWEET_IDS = [f"184500000000000000{n}" for n in range(1, 7)]
T1, T2, T3, T4, T5, T6 = TWEET_IDS
URL = "https://entraide.example.fr/a/"
SEED_TWEETS = (
    TweetRecord(T1, f"Besoin d'aide – Hébergement #InondationsAude #Entraide {URL}P01",
                at(10, 1, 9, 5), "post", ("P01",), "A0"),
    TweetRecord(T2, f"Offre d'aide – Transport #InondationsAude #entraide {URL}P02",
                at(10, 1, 10, 35), "post", ("P02",), "A0"),
    TweetRecord(T6, "Fin de l'activation #InondationsAude. Merci ! #entraide",
                at(10, 4, 9, 5), "activation", (), "A0"),
    TweetRecord(T3, "🟠 Activation #TempeteHerault : besoins et offres. #Entraide",
                at(10, 12, 6, 5), "activation", (), "A1"),
    TweetRecord(T4, f"2 nouvelles annonces #TempeteHerault #Entraide {URL}",
                at(10, 12, 13), "digest", ("P04", "P05"), "A1"),
    TweetRecord(T5, f"#CruesGard Offre : nettoyage #Entraide #123 {URL}P06",
                at(10, 14, 9, 10), "post", ("P06",), "A4"),
    # September and November: not October's
    TweetRecord("1844000000000000001", "Activation #InondationsAude #Entraide",
                at(9, 28, 14, 5), "activation", (), "A0"),
    TweetRecord("1846000000000000001", "Besoin d'aide #TempeteHerault #Entraide",
                at(11, 1, 7, 5), "post", ("P08",), "A1"),
)  # fmt: skip

# likes, retweets, replies, quotes, impressions on the snapshot closing the month
FINAL_METRICS = {
    T1: (10, 4, 2, 1, 1000),
    T2: (5, 1, 0, 0, 400),
    T3: (30, 12, 5, 3, 5000),
    T4: (3, 1, 1, 0, 300),
    T5: (2, 0, 0, 0, 100),
    T6: (8, 2, 0, 0, 900),
}

TOP = tuple(
    TopFollower(str(1000 + rank), f"compte{rank}", 100_000 - rank * 5_000) for rank in range(10)
)
MATCHES = (
    ("P01", "P02", "A0", Decimal("4.2"), at(10, 1, 10, 31)),
    ("P05", "P04", "A1", Decimal("12.5"), at(10, 12, 12, 1)),
    ("P07", "P06", "A4", Decimal("30.0"), at(10, 20, 18, 5)),
    ("P08", "P04", "A1", Decimal("8.0"), at(11, 1, 7, 1)),  # November's
)


def metrics(tweet_id: str, day: date, values: tuple[int, int, int, int, int | None]) -> Any:
    likes, retweets, replies, quotes, impressions = values
    return TweetMetrics(tweet_id, day, likes, retweets, replies, quotes, impressions)


def put_match(table: Table, match: tuple[str, str, str, Decimal, datetime]) -> None:
    """Through the geomatch step's own writer (``MATCH#<need>#<offer>``, ``by_month``)."""
    need_id, offer_id, activation, distance, created = match
    posts = {seed.post_id: seed for seed in SEED_POSTS}

    def post(post_id: str) -> Any:
        seed = posts[post_id]
        return make_post(id=post_id, kind=seed.kind, activation_id=seed.activation_id)

    assert posts[need_id].activation_id == activation
    assert MatchStore(table).record_match(post(need_id), post(offer_id), float(distance), created)


def seed_month(
    table: Table,
    *,
    email: str = "marie.dupont@example.org",
    phone: str | None = "06 12 34 56 78",
    moderator: str = "moderatrice@shareentraide.fr",
    title: str = "Besoin d'un toit pour trois nuits",
) -> None:
    """The whole month in the table, written by the store's own functions."""
    activations, posts = (
        ActivationStore(table),
        PostStore(table, pseudonyms=PSEUDONYMS, retention=RETENTION),
    )
    for activation_id, hazard, departements, level, hashtag, opened, closed in SEED_ACTIVATIONS:
        activations.create_activation(
            make_activation(
                id=activation_id,
                hazard=hazard,
                departements=departements,
                level=level,
                hashtag=hashtag,
                opened_at=opened,
            )
        )
        if closed is not None:
            activations.close_activation(activation_id, closed)
    for seed in SEED_POSTS:
        post = make_post(
            id=seed.post_id,
            kind=seed.kind,
            category=seed.category,
            departement=seed.departement,
            activation_id=seed.activation_id,
            created_at=seed.created_at,
            title=title,
            description=f"Appelez-moi au {phone} ou écrivez à {email}",
            commune=f"Commune de {email}",
        )
        posts.create_post(post, Contact(email=email, phone=phone))
        if seed.decision is not None:
            assert seed.decided_at is not None
            post = posts.transition(post, seed.decision, at=seed.decided_at, by=moderator)
        if seed.ended is not None:
            assert seed.ended_at is not None
            posts.transition(post, seed.ended, at=seed.ended_at, by=moderator)
    relay = DynamoDBRelayStore(table)
    for record in SEED_TWEETS:
        relay.put_tweet(record)
    for match in MATCHES:
        put_match(table, match)

    snapshots = SnapshotStore(table)
    taken = at(11, 1, 5)
    for day, count, top in (
        (date(2026, 9, 30), 990, ()),
        (date(2026, 10, 1), 1000, TOP[:3]),
        (date(2026, 10, 15), 1100, ()),
        (date(2026, 11, 1), 1250, TOP),
        (date(2026, 11, 2), 1300, TOP[::-1]),
    ):
        snapshots.put_followers(
            FollowerSnapshot(day, count, top, followers_read=count, top_complete=True),
            taken_at=taken,
        )
    snapshots.put_tweet_metrics(
        date(2026, 10, 2),
        [metrics(T1, date(2026, 10, 2), (1, 0, 0, 0, 50))],
        taken_at=taken,
    )
    snapshots.put_tweet_metrics(
        date(2026, 10, 15),
        [metrics(t, date(2026, 10, 15), (1, 1, 1, 1, 10)) for t in (T1, T2, T3, T4, T5, T6)],
        taken_at=taken,
    )
    snapshots.put_tweet_metrics(
        date(2026, 11, 1),
        [metrics(t, date(2026, 11, 1), values) for t, values in FINAL_METRICS.items()],
        taken_at=taken,
    )
    snapshots.put_tweet_metrics(  # after the 1st: a later re-run gives the same figures
        date(2026, 11, 2),
        [metrics(t, date(2026, 11, 2), (999, 0, 0, 0, 1)) for t in FINAL_METRICS],
        taken_at=taken,
    )


@pytest.fixture
def october(table: Table) -> MonthlyReport:
    seed_month(table)
    return compute_month(MONTH, load_month(table, MONTH, now=GENERATED))


# --- every figure of the seeded month ----------------------------------------------------


def counts(figures: tuple[Figure, ...]) -> dict[str, int]:
    return {figure.key: figure.count for figure in figures}


def test_month_header(october: MonthlyReport) -> None:
    assert october.month == "2026-10"
    assert october.label == "octobre 2026"
    assert october.period_start == at(10, 1)
    assert october.period_end == at(11, 1)
    assert october.generated_at == GENERATED
    assert october.empty is False


def test_posts_by_kind_category_departement_and_status(october: MonthlyReport) -> None:
    posts = october.posts
    assert posts.total == 8
    assert counts(posts.by_kind) == {"need": 5, "offer": 3}
    assert [figure.label for figure in posts.by_kind] == ["Besoin d'aide", "Offre d'aide"]
    assert counts(posts.by_category) == {
        "hebergement": 3,
        "transport": 1,
        "nettoyage": 2,
        "materiel": 1,
        "repas": 1,
        "garde": 0,
        "autre": 0,
    }
    assert posts.by_departement == (
        Figure("34", "Hérault (34)", 4),
        Figure("11", "Aude (11)", 2),
        Figure("30", "Gard (30)", 2),
    )
    assert counts(posts.by_status) == {
        "pending": 1,
        "approved": 4,
        "rejected": 1,
        "withdrawn": 1,
        "expired": 1,
    }


def test_moderation_counts_the_decisions_taken_in_the_month(october: MonthlyReport) -> None:
    moderation = october.moderation
    # P01..P06 and S01, S02 (created on 30 September); not P08 (decided on 1 November)
    assert moderation.decided == 8
    assert moderation.approved == 6
    assert moderation.rejected == 2
    assert moderation.approval_rate == 0.75
    # delays: 600, 1800, 3600, 7200, 7200, 14400, 43200, 86400 seconds
    assert moderation.delay_median_seconds == 7200
    assert moderation.delay_p90_seconds == 56160  # 43200 + 0.3 x (86400 - 43200)
    assert moderation.decided_from_earlier_months == 2


def test_matches(october: MonthlyReport) -> None:
    assert october.matches.count == 3
    assert october.matches.median_distance_km == 12.5


def test_activations_of_the_month_with_their_dates(october: MonthlyReport) -> None:
    assert october.activations == (
        ActivationFigures(
            activation_id="A4",
            hashtag="#CruesGard",
            hazard="crues",
            hazard_label="crues",
            level="orange",
            departements=("30",),
            origin="manual",
            opened_at=at(6, 15, 10),
            closed_at=None,
            started_before_month=True,
            open_at_month_end=True,
            days_active=31,
            posts=2,
            tweets=1,
        ),
        ActivationFigures(
            activation_id="A5",
            hashtag="#Orages13",
            hazard="orages",
            hazard_label="orages",
            level="orange",
            departements=("13",),
            origin="manual",
            opened_at=at(7, 20, 4),
            closed_at=at(10, 2, 18),
            started_before_month=True,
            open_at_month_end=False,
            days_active=2,
            posts=0,
            tweets=0,
        ),
        ActivationFigures(
            activation_id="A0",
            hashtag="#InondationsAude",
            hazard="inondation",
            hazard_label="inondations",
            level="rouge",
            departements=("11",),
            origin="manual",
            opened_at=at(9, 28, 14),
            closed_at=at(10, 4, 9),
            started_before_month=True,
            open_at_month_end=False,
            days_active=4,
            posts=3,
            tweets=3,
        ),
        ActivationFigures(
            activation_id="A1",
            hashtag="#TempeteHerault",
            hazard="vent-violent",
            hazard_label="vent violent",
            level="orange",
            departements=("34", "30"),
            origin="manual",
            opened_at=at(10, 12, 6),
            closed_at=None,
            started_before_month=False,
            open_at_month_end=True,
            days_active=20,
            posts=3,
            tweets=2,
        ),
    )


def test_tweets_and_engagement(october: MonthlyReport) -> None:
    tweets = october.tweets
    assert tweets.total == 6
    assert tweets.individual == 3
    assert tweets.digests == 1
    assert tweets.activation_announcements == 2
    assert tweets.posts_announced == 5
    assert tweets.measured == 6
    # the snapshot of 1 November closes October; the one of 2 November is ignored
    assert tweets.metrics_day == date(2026, 11, 1)
    assert tweets.likes == 58
    assert tweets.retweets == 20
    assert tweets.replies == 8
    assert tweets.quotes == 4
    assert tweets.interactions == 90
    assert tweets.impressions == 7700
    assert tweets.engagement_basis == "impressions"
    assert tweets.engagement_rate == round(90 / 7700, 6)


def test_followers_growth_and_most_influential(october: MonthlyReport) -> None:
    followers = october.followers
    assert followers.start == 1000
    assert followers.start_day == date(2026, 10, 1)
    assert followers.end == 1250
    assert followers.end_day == date(2026, 11, 1)
    assert followers.growth == 250
    assert followers.growth_rate == 0.25
    assert followers.top == TOP
    assert followers.top_day == date(2026, 11, 1)
    assert followers.top_complete is True
    assert followers.top_read == 1250


def test_most_used_hashtags(october: MonthlyReport) -> None:
    assert october.hashtags == (
        HashtagCount("#Entraide", 6),
        HashtagCount("#InondationsAude", 3),
        HashtagCount("#TempeteHerault", 2),
        HashtagCount("#CruesGard", 1),
    )


def test_posts_per_day(october: MonthlyReport) -> None:
    per_day = {point.day.day: point.count for point in october.posts_per_day}
    assert [point.day for point in october.posts_per_day] == [
        date(2026, 10, 1) + timedelta(days=n) for n in range(31)
    ]
    assert {day: count for day, count in per_day.items() if count} == {
        1: 2,
        2: 1,
        12: 2,
        13: 1,
        20: 1,
        31: 1,
    }


def test_tweets_and_engagement_per_week(october: MonthlyReport) -> None:
    assert october.tweets_per_week == (
        WeekFigures("2026-W40", date(2026, 10, 1), date(2026, 10, 4), 3, 33, round(33 / 2300, 6)),
        WeekFigures("2026-W41", date(2026, 10, 5), date(2026, 10, 11), 0, 0, None),
        WeekFigures("2026-W42", date(2026, 10, 12), date(2026, 10, 18), 3, 57, round(57 / 5400, 6)),
        WeekFigures("2026-W43", date(2026, 10, 19), date(2026, 10, 25), 0, 0, None),
        WeekFigures("2026-W44", date(2026, 10, 26), date(2026, 10, 31), 0, 0, None),
    )


def test_notes_say_how_the_figures_were_counted(october: MonthlyReport) -> None:
    notes = "\n".join(october.notes)
    assert "du 1er octobre 2026 au 31 octobre 2026 inclus, en temps universel (UTC)" in notes
    assert "une annonce déposée le 31 et validée le 1er" in notes
    assert "2 décisions portent sur des annonces déposées le mois précédent" in notes
    assert "÷ impressions" in notes
    assert "jusqu'au 1er novembre 2026 (6 tweets mesurés sur 6)" in notes
    assert "relevés du 1er octobre 2026 et du 1er novembre 2026" in notes
    assert "3 mois précédents" in notes
    assert "Aucune activité" not in notes


def test_a_later_rerun_gives_the_same_report(table: Table) -> None:
    seed_month(table)
    first = compute_month(MONTH, load_month(table, MONTH, now=GENERATED))
    again = compute_month(MONTH, load_month(table, MONTH, now=GENERATED))
    assert again == first
    # a month later: the same figures (the snapshots after the 1st are not read)
    later = compute_month(MONTH, load_month(table, MONTH, now=GENERATED + timedelta(days=30)))
    assert replace(later, generated_at=GENERATED) == first


# --- the loader --------------------------------------------------------------------------


def test_loader_reads_only_through_the_indexes(
    table: Table, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed_month(table)
    calls: list[tuple[str, dict[str, Any]]] = []
    client = table.client
    original = client._make_api_call

    def spy(operation: str, params: dict[str, Any]) -> Any:
        calls.append((operation, params))
        return original(operation, params)

    monkeypatch.setattr(client, "_make_api_call", spy)
    load_month(table, MONTH, now=GENERATED)
    assert {operation for operation, _ in calls} == {"Query"}
    partitions = sorted(
        (params["IndexName"], params["ExpressionAttributeValues"][":pk"]["S"])
        for _, params in calls
    )
    assert partitions == [
        ("by_month", "ACTIVATION#2026-07"),
        ("by_month", "ACTIVATION#2026-08"),
        ("by_month", "ACTIVATION#2026-09"),
        ("by_month", "ACTIVATION#2026-10"),
        ("by_month", "EDITORIAL#2026-10"),
        ("by_month", "MATCH#2026-10"),
        ("by_month", "POST#2026-09"),
        ("by_month", "POST#2026-10"),
        ("by_month", "PUBLISHED#bluesky#2026-10"),
        ("by_month", "PUBLISHED#mastodon#2026-10"),
        ("by_month", "SNAPSHOT#2026-10"),
        ("by_month", "SNAPSHOT#2026-11"),
        ("by_month", "TWEET#2026-10"),
        ("by_status", "ACTIVATION#open"),
    ]


def test_loader_keeps_no_personal_data(table: Table) -> None:
    seed_month(table)
    data = load_month(table, MONTH, now=GENERATED)
    text = repr(data)
    for private in ("marie.dupont", "06 12 34 56 78", "moderatrice@", "Commune de", "toit"):
        assert private not in text
    assert {post.post_id for post in data.posts} == {f"P0{n}" for n in range(1, 9)}
    assert {post.post_id for post in data.decisions} == {
        "P01",
        "P02",
        "P03",
        "P04",
        "P05",
        "P06",
        "S01",
        "S02",
    }
    assert {a.id for a in data.activations} == {"A0", "A1", "A4", "A5"}


def test_an_activation_older_than_the_look_back_and_closed_since_needs_a_wider_look_back(
    activations: ActivationStore, table: Table
) -> None:
    # opened in May, closed on 10 October: five months before, beyond the default three
    activations.create_activation(make_activation(id="OLD", opened_at=at(5, 1)))
    activations.close_activation("OLD", at(10, 10, 8))
    assert load_month(table, MONTH, now=GENERATED).activations == ()
    wider = load_month(table, MONTH, now=GENERATED, activation_lookback_months=6)
    [activation] = compute_month(MONTH, wider).activations
    assert activation.days_active == 10


# --- an activation across two months -----------------------------------------------------


def test_a_month_spanning_an_activation_that_started_the_month_before(
    activations: ActivationStore, posts: PostStore, table: Table
) -> None:
    activations.create_activation(
        make_activation(id="AX", hashtag="#TempeteAude", opened_at=at(10, 28, 22, 30))
    )
    post = make_post(id="PX", activation_id="AX", created_at=at(11, 2, 9))
    posts.create_post(post, Contact(email="x@example.org"))
    activations.close_activation("AX", at(11, 3, 8))

    november = compute_month("2026-11", load_month(table, "2026-11", now=at(12, 1, 6)))
    [activation] = november.activations
    assert activation.started_before_month is True
    assert activation.open_at_month_end is False
    assert activation.days_active == 3  # 1, 2 and 3 November
    assert activation.posts == 1
    assert november.empty is False

    october = compute_month("2026-10", load_month(table, "2026-10", now=at(12, 1, 6)))
    [activation] = october.activations
    assert activation.started_before_month is False
    assert activation.open_at_month_end is True  # it closed in November
    assert activation.days_active == 4  # 28 to 31 October
    assert activation.posts == 0


def test_the_current_month_counts_active_days_up_to_now() -> None:
    activation = make_activation(id="AN", opened_at=at(10, 3, 12))
    data = MonthData(month=MONTH, generated_at=at(10, 10, 6), activations=(activation,))
    [figures] = compute_month(MONTH, data).activations
    assert figures.days_active == 8  # 3 to 10 October
    assert figures.closed_at is None


# --- an empty month ----------------------------------------------------------------------


def test_an_empty_month_says_so_without_dividing_by_zero(table: Table) -> None:
    report = compute_month("2026-03", load_month(table, "2026-03", now=at(4, 1, 6)))
    assert report.empty is True
    assert report.posts.total == 0
    assert all(figure.count == 0 for figure in report.posts.by_kind)
    assert report.posts.by_departement == ()
    assert report.moderation.decided == 0
    assert report.moderation.approval_rate is None
    assert report.moderation.delay_median_seconds is None
    assert report.moderation.delay_p90_seconds is None
    assert report.matches.count == 0
    assert report.matches.median_distance_km is None
    assert report.activations == ()
    assert report.tweets.total == 0
    assert report.tweets.interactions == 0
    assert report.tweets.impressions is None
    assert report.tweets.engagement_rate is None
    assert report.tweets.engagement_basis is None
    assert report.followers.start is None
    assert report.followers.growth is None
    assert report.followers.growth_rate is None
    assert report.followers.top == ()
    assert report.hashtags == ()
    assert len(report.posts_per_day) == 31
    assert all(point.count == 0 for point in report.posts_per_day)
    assert [week.week for week in report.tweets_per_week] == [
        "2026-W09",
        "2026-W10",
        "2026-W11",
        "2026-W12",
        "2026-W13",
        "2026-W14",
    ]
    assert all(week.engagement_rate is None for week in report.tweets_per_week)
    assert any("Aucune activité ce mois-ci" in note for note in report.notes)
    assert any("aucun relevé quotidien" in note for note in report.notes)


# --- pure computations -------------------------------------------------------------------


def _tweet(tweet_id: str, posted: datetime, text: str = "") -> TweetFacts:
    return TweetFacts(tweet_id=tweet_id, posted_at=posted, kind="post", text=text, post_count=1)


def test_engagement_per_follower_when_impressions_are_missing() -> None:
    data = MonthData(
        month=MONTH,
        generated_at=GENERATED,
        tweets=(_tweet("1", at(10, 5)), _tweet("2", at(10, 6)), _tweet("3", at(10, 7))),
        tweet_metrics=(
            TweetMetrics("1", date(2026, 11, 1), 6, 2, 1, 1, 500),
            TweetMetrics("2", date(2026, 11, 1), 3, 1, 0, 0, None),  # the 2022 shape
            # tweet 3 never measured (deleted, or snapshots off that day)
        ),
        followers=(FollowerSnapshot(date(2026, 11, 1), 200),),
    )
    report = compute_month(MONTH, data)
    assert report.tweets.measured == 2
    assert report.tweets.interactions == 14
    assert report.tweets.impressions is None
    assert report.tweets.engagement_basis == "followers"
    assert report.tweets.engagement_rate == round(14 / (2 * 200), 6)
    assert report.followers.growth is None  # one snapshot: no growth
    notes = "\n".join(report.notes)
    assert "÷ (tweets mesurés × abonnés en fin de mois)" in notes
    assert "un seul relevé" in notes


def test_engagement_not_computable_without_metrics_nor_followers() -> None:
    data = MonthData(month=MONTH, generated_at=GENERATED, tweets=(_tweet("1", at(10, 5)),))
    report = compute_month(MONTH, data)
    assert report.tweets.engagement_rate is None
    assert report.tweets.engagement_basis is None
    assert any("non calculable" in note for note in report.notes)


def test_followers_lost_give_a_negative_growth() -> None:
    data = MonthData(
        month=MONTH,
        generated_at=GENERATED,
        followers=(
            FollowerSnapshot(date(2026, 10, 1), 400),
            FollowerSnapshot(date(2026, 10, 31), 300),
        ),
    )
    followers = compute_month(MONTH, data).followers
    assert (followers.growth, followers.growth_rate) == (-100, -0.25)


def test_compute_ignores_what_is_outside_the_month() -> None:
    inside = PostFacts("IN", Kind.NEED, Category.REPAS, "11", PostStatus.PENDING, at(10, 31, 23))
    outside = replace(inside, post_id="OUT", created_at=at(11, 1))
    decided_outside = replace(inside, post_id="D", decided_at=at(11, 1), status=APPROVED)
    data = MonthData(
        month=MONTH,
        generated_at=GENERATED,
        posts=(inside, outside, inside),
        decisions=(decided_outside,),
        matches=(MatchFacts("a", "b", "A", at(9, 30, 23), 1.0),),
        activations=(make_activation(id="X", opened_at=at(9, 1), closed_at=at(10, 1)),),
    )
    report = compute_month(MONTH, data)
    assert report.posts.total == 1
    assert report.moderation.decided == 0
    assert report.matches.count == 0
    assert report.activations == ()  # closed at the very start of the month


def test_hashtags_of_a_tweet() -> None:
    assert hashtags_of("#Entraide #Aude2026 l'#eau x#no &#123; #123 #été_2026 #Entraide") == [
        "#Entraide",
        "#Aude2026",
        "#eau",
        "#été_2026",
    ]


def test_percentile_interpolates_between_ranks() -> None:
    assert percentile([5.0], 0.9) == 5.0
    assert percentile([1.0, 2.0], 0.5) == 1.5
    assert percentile(list(map(float, range(1, 11))), 0.9) == pytest.approx(9.1)
    with pytest.raises(ValueError, match="percentile"):
        percentile([], 0.5)


def test_month_helpers() -> None:
    assert month_bounds("2026-12") == (at(12, 1), datetime(2027, 1, 1, tzinfo=UTC))
    assert shift_month("2026-01", -1) == "2025-12"
    assert shift_month("2026-10", 3) == "2027-01"
    assert report_month(at(11, 1, 6)) == "2026-10"
    assert report_month(datetime(2027, 1, 1, 6, tzinfo=UTC)) == "2026-12"
    assert month_label("2026-08") == "août 2026"
    for bad in ("2026-13", "2026-1", "26-10", "2026-10-01", ""):
        with pytest.raises(ValueError, match="Mois invalide"):
            month_bounds(bad)


def test_posts_per_day_in_a_short_month() -> None:
    data = MonthData(month="2027-02", generated_at=GENERATED)
    report = compute_month("2027-02", data)
    assert report.posts_per_day[-1] == DayCount(date(2027, 2, 28), 0)
    assert len(report.posts_per_day) == 28


def test_monthly_report_loads_and_computes(table: Table) -> None:
    seed_month(table)
    assert monthly_report(table, MONTH, now=GENERATED) == compute_month(
        MONTH, load_month(table, MONTH, now=GENERATED)
    )


def test_a_top_from_part_of_the_followers_says_so() -> None:
    top = (TopFollower("7", "grand_compte", 50_000),)
    data = MonthData(
        month=MONTH,
        generated_at=GENERATED,
        followers=(
            FollowerSnapshot(date(2026, 10, 1), 9_000),
            FollowerSnapshot(date(2026, 10, 20), 9_500, top, followers_read=1_000),
            FollowerSnapshot(date(2026, 11, 1), 9_800),  # the top is not read every day
        ),
    )
    followers = compute_month(MONTH, data).followers
    assert followers.top == top
    assert followers.top_day == date(2026, 10, 20)
    assert (followers.top_complete, followers.top_read) == (False, 1_000)
    assert (followers.end, followers.growth, followers.growth_rate) == (9_800, 800, 0.0889)
    notes = "\n".join(compute_month(MONTH, data).notes)
    assert "les plus suivis parmi les 1000 abonnés lus le 20 octobre 2026" in notes

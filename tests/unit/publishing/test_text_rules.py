"""Each network's text rules, as properties: whatever a person types, the text of every
channel fits as that network counts, keeps its link whole, and quotes no contact detail."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from entraide.kernel.model import Category, Kind
from entraide.publishing.bluesky import facets, post_record
from entraide.publishing.channel_errors import (
    Rejected,
)
from entraide.publishing.mastodon import status_form
from entraide.publishing.text_rules import (
    BLUESKY_MAX_BYTES,
    BLUESKY_RULE,
    graphemes,
    mastodon_length,
    mastodon_rule,
)
from entraide.publishing.tweets import ChannelTexts, digest_tweet, post_tweet
from tests.factories import make_activation, make_post
from tests.unit.publishing.test_tweets import texts_with_secrets

AUDE = make_activation()
URL = "https://shareentraide.fr/posts/01JDQ4X8Z6Y5W4V3T2S1R0QPNM"
LONG_URL = URL + "?activation=" + "A" * 120
SLOW = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def test_graphemes_count_what_a_reader_sees() -> None:
    assert graphemes("é") == graphemes("e\u0301") == 1  # composed or not
    assert graphemes("👨‍👩‍👧") == 1  # a family: five code points
    assert graphemes("🇫🇷") == 1
    assert graphemes("👍🏽") == 1


def test_mastodon_counts_any_url_as_23() -> None:
    assert mastodon_length(f"voir {URL}") == len("voir ") + 23
    assert mastodon_length(f"voir {LONG_URL}") == len("voir ") + 23
    assert mastodon_length("voir exemple.fr") == len("voir exemple.fr")  # no scheme, no link


def test_bluesky_counts_a_url_whole() -> None:
    text = "x " + "y" * 250 + " " + URL
    assert not BLUESKY_RULE.fits(text)  # 253 + 52 graphemes: Bluesky has no shortener
    assert mastodon_rule(500).fits(text)


@SLOW
@given(
    title=texts_with_secrets(),
    commune=st.text(max_size=120),
    kind=st.sampled_from(list(Kind)),
    category=st.sampled_from(list(Category)),
    url=st.sampled_from([URL, LONG_URL]),
)
def test_property_a_bluesky_post_fits_300_graphemes_and_its_link_is_a_whole_facet(
    title: tuple[str, list[str]], commune: str, kind: Kind, category: Category, url: str
) -> None:
    post = make_post(title=title[0], commune=commune, kind=kind, category=category)
    text = ChannelTexts(BLUESKY_RULE).post_tweet(post, activation=AUDE, public_url=url)
    assert graphemes(text) <= 300
    assert len(text.encode("utf-8")) <= BLUESKY_MAX_BYTES
    post_record(text, AUDE.opened_at)  # Bluesky would take it
    links = [
        facet["features"][0]["uri"]
        for facet in facets(text)
        if facet["features"][0]["$type"].endswith("#link")
    ]
    assert links == [url]
    outside_link = text.replace(url, " ")
    for secret in title[1]:
        assert secret not in outside_link


@SLOW
@given(
    title=st.text(max_size=600),
    commune=st.text(max_size=120),
    max_characters=st.integers(min_value=200, max_value=5000),
)
def test_property_a_mastodon_status_fits_the_instance_limit(
    title: str, commune: str, max_characters: int
) -> None:
    rule = mastodon_rule(max_characters)
    post = make_post(title=title, commune=commune)
    text = ChannelTexts(rule).post_tweet(post, activation=AUDE, public_url=LONG_URL)
    assert mastodon_length(text) <= max_characters
    assert LONG_URL in text
    assert status_form(text, max_characters)["status"] == text


@SLOW
@given(
    counts=st.dictionaries(
        st.tuples(st.sampled_from(list(Kind)), st.sampled_from(list(Category))),
        st.integers(min_value=1, max_value=10_000),
        min_size=1,
    ),
    departement=st.sampled_from(["11", "30", "2A", "971", "75"]),
)
def test_property_a_digest_fits_every_network(
    counts: dict[tuple[Kind, Category], int], departement: str
) -> None:
    for rule in (BLUESKY_RULE, mastodon_rule(500)):
        text = digest_tweet(
            activation=AUDE, departement=departement, counts=counts, public_url=URL, rule=rule
        )
        assert rule.fits(text)
        assert str(sum(counts.values())) in text


def test_a_text_over_the_limit_is_refused_as_each_network_would() -> None:
    with pytest.raises(Rejected):
        post_record("é" * 301, AUDE.opened_at)
    with pytest.raises(Rejected):
        status_form("é" * 501, 500)
    assert post_tweet(make_post(), activation=AUDE, public_url=URL)  # X's rule by default

"""Reading the Bluesky and Mastodon accounts for the daily snapshot (free on both networks).

Each is an :class:`~entraide.reporting.snapshots.AccountReader` over the channel's poster
(:class:`~entraide.publishing.bluesky.BlueskyPoster`,
:class:`~entraide.publishing.mastodon.MastodonPoster`): the same credentials, the same
login, the same typed errors (:mod:`entraide.publishing.channel_errors`).

Bluesky (``atproto``; docs.bsky.app "Rate Limits": reads count against the AppView's
3,000 requests per 5 minutes per IP):

- ``app.bsky.actor.getProfile``: the account's ``followersCount``.
- ``app.bsky.graph.getFollowers`` (up to 100 a page, a ``cursor``): the followers, as
  *profile views*, which carry no follower count; ``app.bsky.actor.getProfiles`` (25
  actors a call) gives each one's, to rank the most followed.
- ``app.bsky.feed.getPosts`` (25 URIs a call): ``likeCount``, ``repostCount``,
  ``replyCount``, ``quoteCount`` of the account's posts; a URI the AppView no longer has
  is left out of its answer (reported missing).

Mastodon (``Mastodon.py``; docs.joinmastodon.org "Rate limits": 300 requests per 5
minutes per account):

- ``GET /api/v1/accounts/verify_credentials``: the account and its ``followers_count``.
- ``GET /api/v1/accounts/:id/followers`` (up to 80 a page, older pages by ``max_id``):
  accounts with their own ``followers_count``.
- ``GET /api/v1/statuses/:id`` per status (20 per batch here): ``favourites_count``,
  ``reblogs_count``, ``replies_count``; a status gone answers 404 (reported missing).
  Mastodon has no quotes nor impressions.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import date
from typing import Any, Final

from entraide.publishing.bluesky import BlueskyPoster
from entraide.publishing.channel_errors import Rejected
from entraide.publishing.mastodon import MastodonPoster, read_rate_limits
from entraide.reporting.snapshots import (
    Account,
    FollowersPage,
    MetricsBatch,
    TopFollower,
    TweetMetrics,
)

#: ``app.bsky.feed.getPosts`` and ``app.bsky.actor.getProfiles`` take 25 at most (lexicons).
BLUESKY_BATCH: Final = 25
BLUESKY_FOLLOWERS_PAGE: Final = 100
#: ``GET /api/v1/accounts/:id/followers``: 80 at most (docs.joinmastodon.org, accounts).
MASTODON_FOLLOWERS_PAGE: Final = 80
MASTODON_BATCH: Final = 20


def _get(value: Any, name: str, default: Any = None) -> Any:
    """A field of an ``atproto`` model or a ``Mastodon.py`` dict alike."""
    if isinstance(value, dict):
        return value.get(name, default)
    return getattr(value, name, default)


def _status(client: Any, *, status_id: str) -> Any:
    return client.status(status_id)


def _count(value: Any, name: str) -> int:
    number = _get(value, name)
    return number if isinstance(number, int) and not isinstance(number, bool) and number > 0 else 0


class BlueskyReader:
    """:class:`~entraide.reporting.snapshots.AccountReader` of the Bluesky account."""

    lookup_batch = BLUESKY_BATCH

    def __init__(self, poster: BlueskyPoster) -> None:
        self.poster = poster

    def me(self) -> Account:
        def profile(client: Any, models: Any) -> Any:
            return client.app.bsky.actor.get_profile(
                models.AppBskyActorGetProfile.Params(actor=self.poster.repo)
            )

        answer = self.poster.call(profile)
        return Account(
            user_id=str(_get(answer, "did", "")),
            username=str(_get(answer, "handle", "")),
            followers_count=_count(answer, "followers_count"),
        )

    def followers(
        self, user_id: str, *, max_results: int, pagination_token: str | None = None
    ) -> FollowersPage:
        def page(client: Any, models: Any) -> Any:
            return client.app.bsky.graph.get_followers(
                models.AppBskyGraphGetFollowers.Params(
                    actor=user_id,
                    limit=min(max_results, BLUESKY_FOLLOWERS_PAGE),
                    cursor=pagination_token,
                )
            )

        answer = self.poster.call(page)
        dids = [str(_get(view, "did")) for view in _get(answer, "followers", []) or []]
        users: list[TopFollower] = []
        for start in range(0, len(dids), BLUESKY_BATCH):
            batch = dids[start : start + BLUESKY_BATCH]

            def profiles(client: Any, models: Any, actors: list[str] = batch) -> Any:
                return client.app.bsky.actor.get_profiles(
                    models.AppBskyActorGetProfiles.Params(actors=actors)
                )

            for profile in _get(self.poster.call(profiles), "profiles", []) or []:
                users.append(
                    TopFollower(
                        user_id=str(_get(profile, "did")),
                        username=str(_get(profile, "handle", "")),
                        followers_count=_count(profile, "followers_count"),
                    )
                )
        cursor = _get(answer, "cursor")
        return FollowersPage(tuple(users), str(cursor) if cursor else None)

    def tweet_metrics(self, tweet_ids: Sequence[str], day: date) -> MetricsBatch:
        if len(tweet_ids) > BLUESKY_BATCH:
            raise ValueError(f"At most {BLUESKY_BATCH} URIs per lookup.")

        def posts(client: Any, models: Any) -> Any:
            return client.app.bsky.feed.get_posts(
                models.AppBskyFeedGetPosts.Params(uris=list(tweet_ids))
            )

        found = {
            str(_get(post, "uri")): TweetMetrics(
                tweet_id=str(_get(post, "uri")),
                day=day,
                likes=_count(post, "like_count"),
                retweets=_count(post, "repost_count"),
                replies=_count(post, "reply_count"),
                quotes=_count(post, "quote_count"),
            )
            for post in _get(self.poster.call(posts), "posts", []) or []
        }
        missing = tuple(uri for uri in tweet_ids if uri not in found)
        return MetricsBatch(tuple(found.values()), missing)


class MastodonReader:
    """:class:`~entraide.reporting.snapshots.AccountReader` of the Mastodon account."""

    lookup_batch = MASTODON_BATCH

    def __init__(self, poster: MastodonPoster) -> None:
        self.poster = poster

    def me(self) -> Account:
        account = self.poster.call(lambda client: client.account_verify_credentials())
        return Account(
            user_id=str(_get(account, "id", "")),
            username=str(_get(account, "acct", "")),
            followers_count=_count(account, "followers_count"),
        )

    def followers(
        self, user_id: str, *, max_results: int, pagination_token: str | None = None
    ) -> FollowersPage:
        page = self.poster.call(
            lambda client: client.account_followers(
                user_id,
                max_id=pagination_token,
                limit=min(max_results, MASTODON_FOLLOWERS_PAGE),
            )
        )
        users = tuple(
            TopFollower(
                user_id=str(_get(account, "id")),
                username=str(_get(account, "acct", "")),
                followers_count=_count(account, "followers_count"),
            )
            for account in page or []
        )
        # Mastodon.py keeps the Link header's next page on the list it returns
        following = _get(getattr(page, "_pagination_next", None) or {}, "max_id")
        token = str(following) if following and users else None
        return FollowersPage(users, token, read_rate_limits(self.poster.last_headers))

    def tweet_metrics(self, tweet_ids: Sequence[str], day: date) -> MetricsBatch:
        if len(tweet_ids) > MASTODON_BATCH:
            raise ValueError(f"At most {MASTODON_BATCH} ids per lookup.")
        found: list[TweetMetrics] = []
        missing: list[str] = []
        for status_id in tweet_ids:
            try:
                status = self.poster.call(functools.partial(_status, status_id=status_id))
            except Rejected as refused:
                if refused.status != 404:
                    raise
                missing.append(status_id)
                continue
            found.append(
                TweetMetrics(
                    tweet_id=status_id,
                    day=day,
                    likes=_count(status, "favourites_count"),
                    retweets=_count(status, "reblogs_count"),
                    replies=_count(status, "replies_count"),
                    quotes=0,
                )
            )
        return MetricsBatch(
            tuple(found), tuple(missing), read_rate_limits(self.poster.last_headers)
        )

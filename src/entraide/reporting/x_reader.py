"""Reading the X account for the daily snapshot: who follows it, how its tweets fare.

Reads through tweepy with the relay's OAuth 1.0a *user* tokens (:class:`XCredentials`):
``GET /2/users/me`` needs a user context anyway, the relay's secret already holds those
four keys, and user-context reads count against the account's own per-user windows,
not against an app bearer token shared with nothing else. No second secret to rotate.

Read quota (X API v2, per user, 15-minute windows; monthly read caps on Basic):

- ``GET /2/users/me?user.fields=public_metrics``: one call a day, gives the count.
- ``GET /2/users/:id/followers``: up to ``max_follower_pages`` pages of 1,000 followers
  with their ``public_metrics``, to keep the 10 most followed. Reading every follower of
  a large account would cost hundreds of calls: the top 10 is that of the followers read
  (``top_complete`` says whether all of them were). X removed this endpoint from the
  Basic and Pro tiers: its 403 leaves the top empty (a note, not an error), the count is
  still recorded. Set ``max_follower_pages=0`` there to save the call.
- ``GET /2/tweets?ids=…&tweet.fields=public_metrics``: 100 ids a call, the
  ``max_tweets`` most recent tweets of the last 30 days (default 100: one call a day,
  about 3,100 tweet reads a month, well under Basic's monthly read cap).

Paging stops when a response says the window has no call left
(``x-rate-limit-remaining: 0``); a 429 or any other X error ends that part of the
snapshot and is reported, what was read before is kept. Nothing sleeps.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any

from entraide.publishing.channel_errors import (
    Rejected,
    Unavailable,
)
from entraide.publishing.x_answers import (
    read_rate_limits,
)
from entraide.publishing.xapi import UserContextClient, XCredentials
from entraide.reporting.snapshots import (
    LOOKUP_BATCH,
    Account,
    FollowersPage,
    MetricsBatch,
    TopFollower,
    TweetMetrics,
)


def _count(metrics: Mapping[str, Any], name: str) -> int:
    """A non-negative count of X's JSON; anything else (absent, null, garbage) is 0."""
    value = metrics.get(name)
    if isinstance(value, bool):
        return 0
    if isinstance(value, int):
        return max(value, 0)
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return int(value)
    return 0


def _optional_count(metrics: Mapping[str, Any], name: str) -> int | None:
    return _count(metrics, name) if name in metrics else None


def parse_me(body: Mapping[str, Any]) -> Account:
    data = body.get("data")
    if not isinstance(data, Mapping) or not data.get("id"):
        raise Rejected(200, "GET /2/users/me answered without the account.")
    metrics = data.get("public_metrics") or {}
    return Account(
        user_id=str(data["id"]),
        username=str(data.get("username", "")),
        followers_count=_count(metrics, "followers_count"),
    )


def parse_followers(body: Mapping[str, Any]) -> tuple[tuple[TopFollower, ...], str | None]:
    users = []
    for user in body.get("data") or ():
        if not isinstance(user, Mapping) or not user.get("id"):
            continue
        metrics = user.get("public_metrics") or {}
        users.append(
            TopFollower(
                user_id=str(user["id"]),
                username=str(user.get("username", "")),
                followers_count=_count(metrics, "followers_count"),
            )
        )
    meta = body.get("meta") or {}
    token = meta.get("next_token")
    return tuple(users), (str(token) if token else None)


def parse_tweet_metrics(
    body: Mapping[str, Any], day: date
) -> tuple[tuple[TweetMetrics, ...], tuple[str, ...]]:
    """Metrics of the tweets found, and the ids X reports as not found (deleted...)."""
    found = []
    for tweet in body.get("data") or ():
        if not isinstance(tweet, Mapping) or not tweet.get("id"):
            continue
        metrics = tweet.get("public_metrics") or {}
        found.append(
            TweetMetrics(
                tweet_id=str(tweet["id"]),
                day=day,
                likes=_count(metrics, "like_count"),
                retweets=_count(metrics, "retweet_count"),
                replies=_count(metrics, "reply_count"),
                quotes=_count(metrics, "quote_count"),
                impressions=_optional_count(metrics, "impression_count"),
            )
        )
    missing = tuple(
        str(error.get("resource_id") or error.get("value"))
        for error in body.get("errors") or ()
        if isinstance(error, Mapping) and (error.get("resource_id") or error.get("value"))
    )
    return tuple(found), missing


def _json(response: Any) -> Mapping[str, Any]:
    """The body of a ``requests.Response`` (tweepy with ``return_type=requests.Response``)."""

    try:
        body = response.json()
    except ValueError:
        raise Unavailable("X answered with a body that is not JSON.") from None
    if not isinstance(body, Mapping):
        raise Unavailable("X answered with a JSON body that is not an object.")
    return body


class TweepyReader:
    """:class:`AccountReader` over ``tweepy.Client`` in user context (OAuth 1.0a).

    ``credentials_loader`` is called on the first read (and again after a 401, in case
    the secret was rotated); ``client_factory`` builds the client (default
    :func:`entraide.publishing.xapi.tweepy_client`: no sleeping on 429, timeouts, raw responses
    whose headers tell the remaining quota).
    """

    def __init__(
        self,
        credentials_loader: Callable[[], XCredentials],
        *,
        client_factory: Callable[[XCredentials], Any] | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._x = UserContextClient(credentials_loader, client_factory=client_factory, clock=clock)

    lookup_batch = LOOKUP_BATCH

    def _call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        return self._x.call(method, *args, **kwargs)

    def me(self) -> Account:
        response = self._call("get_me", user_fields=["public_metrics"])
        return parse_me(_json(response))

    def followers(
        self, user_id: str, *, max_results: int, pagination_token: str | None = None
    ) -> FollowersPage:
        params: dict[str, Any] = {"max_results": max_results, "user_fields": ["public_metrics"]}
        if pagination_token:
            params["pagination_token"] = pagination_token
        response = self._call("get_users_followers", user_id, **params)
        users, token = parse_followers(_json(response))
        return FollowersPage(users, token, read_rate_limits(response.headers))

    def tweet_metrics(self, tweet_ids: Sequence[str], day: date) -> MetricsBatch:
        if len(tweet_ids) > LOOKUP_BATCH:
            raise ValueError(f"At most {LOOKUP_BATCH} ids per lookup.")
        response = self._call("get_tweets", list(tweet_ids), tweet_fields=["public_metrics"])
        metrics, missing = parse_tweet_metrics(_json(response), day)
        return MetricsBatch(metrics, missing, read_rate_limits(response.headers))

"""X (formerly Twitter): publish a post, read the account's counts and its posts' counters.

Documented API used (X API v2, docs.x.com; every request and answer shape is also checked
against X's OpenAPI document, ``https://api.x.com/2/openapi.json``, by the tests):

- ``POST /2/tweets`` (x-api/posts/create-post): JSON ``{"text": …}``; 201 with
  ``{"data": {"id", "text"}}``. X takes no idempotency key, so a resend can post twice:
  :meth:`XConnector.find_post` is how an unknown outcome is reconciled.
- ``GET /2/users/me`` (x-api/users/get-my-user) with ``user.fields=public_metrics,created_at,
  username``: the token's own user; ``public_metrics`` holds ``followers_count``,
  ``following_count`` and ``post_count`` (``tweet_count`` before the rename).
- ``GET /2/users/{id}/tweets`` (x-api/posts/user-posts-timeline-by-user-id): newest first,
  ``max_results`` 5–100, the next page through ``pagination_token`` = ``meta.next_token``,
  ``start_time`` (inclusive, second precision) for a cut-off, ``exclude=retweets``.
  ``public_metrics`` per post: ``like_count``, ``repost_count`` (``retweet_count``),
  ``reply_count``, ``quote_count``, ``bookmark_count``, ``impression_count``.
- OAuth 2.0 user tokens (fundamentals/authentication/oauth-2-0/authorization-code and
  …/user-access-token): authorization code with PKCE at ``https://x.com/i/oauth2/authorize``,
  access tokens live two hours, ``offline.access`` yields a refresh token that is spent on use
  (X rotates it); ``POST /2/oauth2/token`` with ``grant_type=refresh_token``, a confidential
  client authenticating with HTTP Basic, a public one sending ``client_id`` in the form.
- Rate limits (x-api/fundamentals/rate-limits): ``x-rate-limit-limit/remaining/reset`` (reset in
  epoch seconds) per user and endpoint; posting also has 24-hour caps per user and per app,
  reported in ``x-user-limit-24hour-*`` and ``x-app-limit-24hour-*``.
- Errors (x-api/fundamentals/response-codes-and-errors): problem details
  (``application/problem+json``: ``type``, ``title``, ``detail``, ``status``); a 200 may carry
  ``errors`` beside ``data`` (partial errors, logged) or instead of it (a failure).

The query parameter for post fields is ``post.fields``: that is what the OpenAPI document
declares for both endpoints (docs.x.com's guides still show the older alias ``tweet.fields``,
which answers with the older field names; both spellings are read).
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncGenerator, Callable, Iterable, Mapping
from contextlib import aclosing
from datetime import UTC, datetime
from html import unescape
from typing import Any, ClassVar, Final, TypeVar
from urllib.parse import quote

import httpx

from brandkit.errors import (
    OutcomeUnknownError,
    PlatformError,
    RateLimitedError,
    RejectedError,
)
from brandkit.platforms import fields, http, reconcile
from brandkit.platforms.api import ApiSession, ConnectorContext, Scope, SessionConnector
from brandkit.platforms.base import (
    Credentials,
    PostStats,
    ProfileCounts,
    PublishResult,
    RateLimit,
)
from brandkit.platforms.fields import Shape
from brandkit.platforms.oauth import OAuth2RefreshAuth, OAuthSpec

logger = logging.getLogger(__name__)

T = TypeVar("T")

DEFAULT_BASE_URL: Final = "https://api.x.com"
PAGE_SIZE: Final = 100  # the documented maximum of max_results
FIND_POST_PAGES: Final = 2
#: ``start_time`` must be on or after this date (OpenAPI document, getUsersPosts).
EARLIEST_START: Final = datetime(2010, 11, 6, tzinfo=UTC)
POST_FIELDS: Final = "created_at,public_metrics,text"
USER_FIELDS: Final = "created_at,public_metrics,username"

OAUTH: Final = OAuthSpec(
    authorize_url="https://x.com/i/oauth2/authorize",
    token_url="/2/oauth2/token",
    scopes=("tweet.read", "tweet.write", "users.read", "offline.access"),
    pkce=True,
    client_auth="basic",
    docs="https://docs.x.com/fundamentals/authentication/oauth-2-0/user-access-token",
)

_DAILY_CAPS: Final = (("x-user-limit-24hour-", "user"), ("x-app-limit-24hour-", "app"))
_DUPLICATE: Final = "duplicate content"
_HINT_403: Final = (
    "check that the X app has Read and write permission and the scopes "
    f"{' '.join(OAUTH.scopes)}, that your X API plan includes this endpoint, and that the "
    "account is not locked; then run: brandkit auth x"
)


# --- text -----------------------------------------------------------------------------------


def comparable_text(text: str) -> str:
    """``text`` reduced to what survives X's handling, for comparing posts.

    X wraps every link in a ``https://t.co/…`` URL (bare domains too, as twitter-text finds
    them), so each URL becomes one placeholder on both sides; Unicode is NFC and whitespace
    runs collapse to one space.
    """
    return reconcile.comparable_text(text, links=True)


def problem_text(body: object) -> str | None:
    """The human part of an X error body: ``title: detail`` of a problem or of each in ``errors``.

    Also reads the older ``{"errors": [{"code", "message"}]}`` shape the rate-limit page shows.
    """
    if isinstance(body, str):
        try:
            body = json.loads(body)
        except ValueError:
            return None
    if not isinstance(body, dict):
        return None
    problems: list[object] = [body]
    if isinstance(body.get("errors"), list):  # partial errors, or an invalid request's parameters
        problems += body["errors"]
    said: list[str] = []
    for problem in problems:
        if not isinstance(problem, dict):
            continue
        title = fields.opt_string(problem, "title") or ""
        detail = fields.opt_string(problem, "detail") or fields.opt_string(problem, "message")
        text = f"{title}: {detail}" if title and detail and detail != title else title or detail
        if text and text not in said:
            said.append(text)
    return "; ".join(said)[:300] or None


# --- answers ----------------------------------------------------------------------------------


def _profile_counts(value: object) -> ProfileCounts:
    """A ``GET /2/users/me`` answer as :class:`ProfileCounts`."""
    user = fields.mapping(fields.mapping(value, "answer").get("data"), "data")
    metrics = fields.mapping(user.get("public_metrics"), "public_metrics")
    return ProfileCounts(
        remote_id=fields.string(user, "id"),
        handle=fields.string(user, "username"),
        followers=fields.integer(metrics, "followers_count"),
        following=fields.opt_int(metrics, "following_count"),
        posts_count=fields.first_int(metrics, "post_count", "tweet_count"),
    )


def _post_stats(value: object, username: str | None) -> PostStats:
    """A Post object (with ``created_at`` and ``public_metrics``) as :class:`PostStats`."""
    post = fields.mapping(value, "post")
    post_id = fields.string(post, "id")
    metrics = fields.mapping(post.get("public_metrics") or {}, "public_metrics")
    return PostStats(
        remote_id=post_id,
        created_at=fields.timestamp(post, "created_at"),
        url=post_url(post_id, username),
        likes=fields.opt_int(metrics, "like_count"),
        reposts=fields.first_int(metrics, "repost_count", "retweet_count"),
        replies=fields.opt_int(metrics, "reply_count"),
        quotes=fields.opt_int(metrics, "quote_count"),
        bookmarks=fields.opt_int(metrics, "bookmark_count"),
        impressions=fields.opt_int(metrics, "impression_count"),
        # X escapes &, < and > in returned text
        text=unescape(fields.opt_string(post, "text") or ""),
    )


def _page(value: object, username: str | None) -> tuple[list[PostStats], str | None]:
    """One page of ``GET /2/users/{id}/tweets``: its posts and ``meta.next_token``.

    An empty timeline comes back as ``{"meta": {"result_count": 0}}`` without ``data``.
    """
    answer = fields.mapping(value, "answer")
    data = answer.get("data")
    posts = [] if data is None else [_post_stats(p, username) for p in fields.array(data, "data")]
    meta = fields.mapping(answer.get("meta") or {}, "meta")
    return posts, fields.opt_string(meta, "next_token")


def _created(value: object) -> str:
    """The id of the post a ``POST /2/tweets`` answer describes."""
    return fields.string(fields.mapping(fields.mapping(value, "answer").get("data"), "data"), "id")


def post_url(post_id: str, username: str | None) -> str:
    """The post's public address (``/i/web/status/`` works without knowing the handle)."""
    owner = quote(username, safe="") if username else "i/web"
    return f"https://x.com/{owner}/status/{post_id}"


def read_rate_limits(headers: httpx.Headers, now: datetime) -> list[tuple[Scope, RateLimit]]:
    """``x-rate-limit-*`` (epoch-seconds reset): the user's bucket for the endpoint called."""
    found = http.rate_limit_from_headers(headers, prefix="x-rate-limit-", parse_reset=fields.epoch)
    return [("account", found)] if found else []


def _start_time(moment: datetime) -> str | None:
    """``start_time`` as X takes it (``YYYY-MM-DDTHH:mm:ssZ``), or ``None`` before its floor."""
    moment = reconcile.aware(moment).astimezone(UTC)
    if moment < EARLIEST_START:
        return None
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


# --- the connector ----------------------------------------------------------------------------


class XConnector(SessionConnector):
    """One X account (an OAuth 2.0 user token), reached through an injected ``httpx.AsyncClient``.

    Credentials: the access token, and in ``extra`` the ``refresh_token``, ``expires_at``,
    ``client_id`` (and ``client_secret`` for a confidential client) that renewal needs; an
    optional ``user_id`` saves one profile call. Calls draw on the account's bucket and, when
    the client id is known, on the app's (``x:app:<client id>``).
    """

    platform: ClassVar[str] = "x"
    can_publish_text: ClassVar[bool] = True
    max_length: ClassVar[int] = 280  # weighted, as twitter-text counts (brandkit.content.length)
    metrics_fields: ClassVar[frozenset[str]] = frozenset(
        {"likes", "reposts", "replies", "quotes", "bookmarks", "impressions"}
    )
    supports_idempotency_key: ClassVar[bool] = False
    #: X attaches media uploaded through ``/2/media/upload`` only, never an image by URL
    accepts_image_url: ClassVar[bool] = False
    default_base_url: ClassVar[str | None] = DEFAULT_BASE_URL
    oauth: ClassVar[OAuthSpec | None] = OAUTH

    def __init__(
        self,
        *,
        client: httpx.AsyncClient,
        base_url: str,
        credentials: Credentials,
        context: ConnectorContext | None = None,
    ) -> None:
        client_id = credentials.get("client_id")
        self._session = ApiSession(
            platform=self.platform,
            client=client,
            base_url=base_url or DEFAULT_BASE_URL,
            credentials=credentials,
            context=context,
            auth=OAuth2RefreshAuth(OAUTH),
            read_limits=self._read_limits,
            app_key=f"x:app:{client_id}" if client_id else None,
        )
        self._user_id: str | None = credentials.get("user_id")
        self._username: str | None = credentials.get("username")
        # posting's 24-hour caps get their own buckets, so an exhausted cap holds back
        # publishing only, never the reads that share the account's and the app's buckets
        self._daily_keys = {
            "user": f"{self._session.account_key}:posts-24h",
            "app": f"x:app:{client_id}:posts-24h" if client_id else None,
        }

    async def publish(
        self, text: str, *, idempotency_key: str, image_url: str | None = None
    ) -> PublishResult:
        """Post ``text``; ``idempotency_key`` is unused, as X has no such mechanism.

        Any failure after the request may have reached X is ``OutcomeUnknownError``, and the
        publisher then asks :meth:`find_post` before anything is sent again.
        """
        if image_url is not None:
            raise RejectedError(
                "X attaches only media uploaded through its media endpoint, not an image by URL",
                platform=self.platform,
                hint="post the text alone on X, or attach the image in the X app",
            )
        await self._wait_for_daily_caps()
        call = self._session.call("publish", is_publish=True)
        try:
            response = await self._request("POST", "/2/tweets", call, json={"text": text})
        except RateLimitedError as exc:
            daily = self._why_limited(exc)
            if daily is exc:
                raise
            raise daily from exc
        post_id = self._read(response, _created, call)
        return PublishResult(
            remote_id=post_id,
            url=post_url(post_id, self._username),
            published_at=self._session.clock.now(),
        )

    async def fetch_profile(self) -> ProfileCounts:
        """The token's own user and its counts; remembers the id for the timeline calls."""
        call = self._session.call("fetch profile")
        response = await self._request(
            "GET", "/2/users/me", call, params={"user.fields": USER_FIELDS}
        )
        profile = self._read(response, _profile_counts, call)
        self._user_id, self._username = profile.remote_id, profile.handle
        return profile

    async def fetch_post_metrics(
        self, *, since: datetime | None = None
    ) -> AsyncGenerator[PostStats, None]:
        """The account's posts (reposts excluded) with their counters, newest first.

        With ``since``, X is asked for ``start_time`` so the timeline ends there; posts older
        than ``since`` are dropped here too, and paging stops at the first one.
        """
        cutoff = reconcile.aware(since) if since is not None else None
        pages = self._pages(self._session.call("fetch post metrics"), start=cutoff)
        async with aclosing(pages):
            async for page in pages:
                for stats in page:
                    if cutoff is not None and stats.created_at < cutoff:
                        return
                    yield stats

    async def find_post(
        self, *, idempotency_key: str, text: str, not_before: datetime
    ) -> PublishResult | None:
        """The account's post with this ``text`` created since ``not_before``, if any.

        X has no idempotency key to ask about, so reconciliation reads the latest posts (from
        ``not_before`` less a minute, at most two pages) and compares their text with ``text``
        after :func:`comparable_text`, since X returns links as ``t.co`` URLs.
        """
        start = reconcile.earliest(not_before)
        pages = self._pages(self._session.call("find post"), start=start, max_pages=FIND_POST_PAGES)
        return await reconcile.find_by_text(
            pages,
            text,
            not_before=not_before,
            result=reconcile.published,
            comparable=comparable_text,
        )

    # --- internals ------------------------------------------------------------------------

    async def _user(self) -> str:
        if self._user_id is None:
            await self.fetch_profile()
        assert self._user_id is not None
        return self._user_id

    async def _pages(
        self, call: http.Call, *, start: datetime | None, max_pages: int | None = None
    ) -> AsyncGenerator[list[PostStats], None]:
        """The user's timeline page by page, following ``meta.next_token`` to the end."""
        path = f"/2/users/{quote(await self._user(), safe='')}/tweets"
        params: dict[str, str | int] = {
            "max_results": PAGE_SIZE,
            "exclude": "retweets",
            "post.fields": POST_FIELDS,
        }
        if start is not None and (start_time := _start_time(start)) is not None:
            params["start_time"] = start_time
        seen: set[str] = set()
        while max_pages is None or len(seen) < max_pages:
            response = await self._request("GET", path, call, params=params)
            page, token = self._read(response, lambda v: _page(v, self._username), call)
            if page:
                yield page
            if not token or token in seen:  # a repeated cursor would loop forever
                return
            seen.add(token)
            params = {**params, "pagination_token": token}

    async def _request(
        self,
        method: str,
        path: str,
        call: http.Call,
        *,
        params: Mapping[str, str | int] | None = None,
        json: object = None,
    ) -> httpx.Response:
        """One request through the shared session; X's problem details go into the message."""
        try:
            return await self._session.request(method, path, call, params=params, json=json)
        except PlatformError as exc:
            better = _explained(exc, call)
            if better is exc:
                raise
            raise better from exc

    def _read(self, response: httpx.Response, parse: Callable[[object], T], call: http.Call) -> T:
        """Decode an answer: ``errors`` without ``data`` fail, ``errors`` beside it are logged."""
        body = http.json_body(response, call)
        errors = body.get("errors") if isinstance(body, dict) else None
        if isinstance(body, dict) and errors and "data" not in body:
            said = problem_text(body) or "no detail"
            message = f"{call.action}: X answered with errors only: {said}"
            error = OutcomeUnknownError if call.is_publish else PlatformError
            raise error(
                http.redact(message, call.secrets),
                platform=self.platform,
                status=response.status_code,
                body=http.error_body(response, call.secrets),
                hint="check that the account still exists and is not suspended or protected",
            )
        if errors:
            said = http.redact(problem_text(body) or "no detail", call.secrets)
            logger.warning("x: %s: partial errors in the answer: %s", call.action, said)
        try:
            return parse(body)
        except Shape as exc:
            raise http.malformed(response, str(exc), call) from exc

    # --- rate limits ----------------------------------------------------------------------

    def _read_limits(
        self, headers: httpx.Headers, now: datetime
    ) -> Iterable[tuple[Scope, RateLimit]]:
        """The per-user bucket for the session; the 24-hour posting caps into their own keys."""
        book = self._session.context.limits
        for prefix, scope in _DAILY_CAPS:
            key = self._daily_keys[scope]
            cap = http.rate_limit_from_headers(headers, prefix=prefix, parse_reset=fields.epoch)
            if key and cap:
                book.record(key, cap)
        return read_rate_limits(headers, now)

    def _exhausted_cap(self) -> tuple[str, datetime] | None:
        """Which 24-hour posting cap is used up, and until when (the later one if both)."""
        now = self._session.clock.now()
        found: tuple[str, datetime] | None = None
        for scope, key in self._daily_keys.items():
            until = self._session.context.limits.wait_until(key, now) if key else None
            if until is not None and (found is None or until > found[1]):
                found = (scope, until)
        return found

    async def _wait_for_daily_caps(self) -> None:
        """Sleep through a near reset of a used-up 24-hour cap; refuse to send before a far one."""
        exhausted = self._exhausted_cap()
        if exhausted is None:
            return
        scope, until = exhausted
        delay = (until - self._session.clock.now()).total_seconds()
        if delay > self._session.context.retry.max_wait:
            raise _daily_cap_error(scope, until)
        await self._session.clock.sleep(max(0.0, delay))

    def _why_limited(self, exc: RateLimitedError) -> RateLimitedError:
        """``exc``, or the daily-cap error when a 24-hour cap is why X said 429."""
        exhausted = self._exhausted_cap()
        if exhausted is None or (exc.reset_at is not None and exhausted[1] <= exc.reset_at):
            return exc
        return _daily_cap_error(*exhausted, body=exc.body)


def _daily_cap_error(scope: str, until: datetime, *, body: str | None = None) -> RateLimitedError:
    whose = "this account's" if scope == "user" else "the X app's"
    return RateLimitedError(
        f"publish: {whose} 24-hour post limit is used up until {until:%Y-%m-%d %H:%M} UTC",
        platform="x",
        reset_at=until,
        status=429,
        body=body,
        hint="brandkit will publish after the reset; the X API plan sets this limit",
    )


def _explained(exc: PlatformError, call: http.Call) -> PlatformError:
    """``exc`` with X's problem ``title: detail`` in its message (and duplicates as rejected)."""
    said = problem_text(exc.body)
    if not said or exc.status is None:
        return exc
    message = f"{call.action} failed (HTTP {exc.status}): {said}"
    common: dict[str, Any] = {"platform": exc.platform, "status": exc.status, "body": exc.body}
    if isinstance(exc, RateLimitedError):
        return RateLimitedError(message, reset_at=exc.reset_at, hint=exc.hint, **common)
    if call.is_publish and exc.status == 403 and _DUPLICATE in said.lower():
        duplicate = "X refuses a post identical to a recent one; change the text"
        return RejectedError(message, hint=duplicate, **common)
    return type(exc)(message, hint=_HINT_403 if exc.status == 403 else exc.hint, **common)

"""LinkedIn: publish through the Posts API, read follower counts and per-post statistics.

Documented API used (learn.microsoft.com/linkedin; versioned calls under ``/rest/``):

- Every ``/rest/`` call carries ``LinkedIn-Version: YYYYMM`` (:data:`LINKEDIN_VERSION`, each
  version supported for at least a year: marketing/versioning) and
  ``X-Restli-Protocol-Version: 2.0.0``.
- ``POST /rest/posts`` (marketing/community-management/shares/posts-api): ``author``,
  ``commentary`` in "little text" (escaped here with :mod:`brandkit.content.escaping`),
  ``visibility`` PUBLIC, ``distribution`` MAIN_FEED, ``lifecycleState`` PUBLISHED; the answer is
  201 with an empty body and the new post's URN in the ``x-restli-id`` header.
- ``GET /rest/posts?author=…&q=author&count=…&start=…&sortBy=CREATED`` (same page, "Find Posts by
  Authors"): the author's posts, newest first, paged by ``start``/``count`` with ``paging.total``
  and ``paging.links``. For a member this needs ``r_member_social``, which LinkedIn grants to
  approved partners only.
- ``GET /v2/userinfo`` (shared/…/sign-in-with-linkedin-v2): the member's ``sub`` when no
  ``author_urn`` is stored, giving ``urn:li:person:<sub>``.
- ``GET /rest/networkSizes/{organization URN}?edgeType=COMPANY_FOLLOWED_BY_MEMBER``
  (community-management/organizations/organization-lookup-api): an organization's followers
  (``organizationalEntityFollowerStatistics`` no longer returns totals).
- ``GET /rest/memberFollowersCount?q=me`` (community-management/members/follower-statistics): a
  member's followers; needs ``r_member_profileAnalytics``.
- ``GET /rest/organizationalEntityShareStatistics?q=organizationalEntity&…&shares=List(…)
  &ugcPosts=List(…)`` (community-management/organizations/share-statistics): lifetime
  impressions, likes, comments and reshares of an organization's posts (rolling 12 months).
- ``GET /rest/socialActions?ids=List(…)`` (community-management/shares/
  network-update-social-actions): likes and comments of a member's posts; members get no
  impressions or reshares here.
- Rate limits (shared/api-guide/concepts/rate-limits): daily, per application and per member,
  reset at midnight UTC, and a 429 carries no rate-limit headers (see :meth:`_daily_limit`).
- Errors: ``{"status", "serviceErrorCode", "code", "message"}``.
- OAuth (shared/authentication/authorization-code-flow, programmatic-refresh-tokens): access
  tokens last 60 days; refresh tokens (365 days) only for approved partners.

The answers are read by :mod:`brandkit.platforms.linkedin_answers`; this module decides what to
ask, with which headers, and what a failure means.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Mapping, Sequence
from contextlib import aclosing
from dataclasses import replace
from datetime import UTC, datetime, time, timedelta
from functools import partial
from typing import Any, ClassVar, Final
from urllib.parse import quote

import httpx

from brandkit.content.escaping import escape_little_text
from brandkit.errors import PlatformError, RateLimitedError, RejectedError
from brandkit.platforms import http, reconcile
from brandkit.platforms.api import (
    ApiSession,
    ConnectorContext,
    SessionConnector,
    no_rate_limit_headers,
)
from brandkit.platforms.base import Credentials, PostStats, ProfileCounts, PublishResult, RateLimit
from brandkit.platforms.linkedin_answers import (
    Counts,
    Post,
    error_text,
    member_followers,
    network_size,
    parse_posts_page,
    share_statistics,
    social_actions,
    userinfo,
)
from brandkit.platforms.oauth import OAuth2RefreshAuth, OAuthSpec

#: The Marketing API version sent with every /rest/ call (January 2026, supported at least a
#: year); an account may override it with the ``linkedin_version`` extra when LinkedIn sunsets it.
LINKEDIN_VERSION: Final = "202601"
PAGE_SIZE: Final = 20  # posts per page, and URNs per statistics request
FIND_POST_PAGES: Final = 2
PERSON: Final = "urn:li:person:"
ORGANIZATION: Final = "urn:li:organization:"
REAUTHORISE: Final = (
    "LinkedIn access tokens last 60 days and only approved partners get refresh tokens; "
    "re-authorise: brandkit auth linkedin"
)
_PERMISSION_HINT: Final = (
    "the token lacks a permission for this call: a member's posts need r_member_social (approved "
    "partners only) and follower counts r_member_profileAnalytics; an organization needs "
    "r_organization_social and rw_organization_admin (run brandkit auth linkedin again)"
)

OAUTH: Final = OAuthSpec(
    authorize_url="https://www.linkedin.com/oauth/v2/authorization",
    token_url="https://www.linkedin.com/oauth/v2/accessToken",
    scopes=("openid", "profile", "w_member_social"),
    pkce=False,  # LinkedIn enables PKCE only for native apps it approves one by one
    client_auth="body",
    docs="https://learn.microsoft.com/en-us/linkedin/shared/authentication/authorization-code-flow"
    " — organization pages also need w_organization_social, r_organization_social and"
    " rw_organization_admin; member follower counts need r_member_profileAnalytics",
)


def next_utc_midnight(now: datetime) -> datetime:
    """When LinkedIn's daily limits reset: the next 00:00 UTC after ``now``."""
    return datetime.combine(now.astimezone(UTC).date() + timedelta(days=1), time(0), tzinfo=UTC)


def post_url(urn: str) -> str:
    return f"https://www.linkedin.com/feed/update/{urn}/"


def _urn_list(urns: Sequence[str]) -> str:
    """A Rest.li 2.0 ``List(…)`` of URNs, each percent-encoded, for a hand-built query."""
    return "List(" + ",".join(quote(urn, safe="") for urn in urns) + ")"


def reworded(error: PlatformError, message: str, hint: str | None) -> PlatformError:
    """``error`` (never a ``RateLimitedError``) with the platform's own message and a hint."""
    return type(error)(
        message, platform=error.platform, status=error.status, body=error.body, hint=hint
    )


class LinkedInConnector(SessionConnector):
    """One LinkedIn member or organization page, reached through an injected client.

    The author is ``author_urn`` from the credentials' extras (``urn:li:person:…`` or
    ``urn:li:organization:…``), else the member who authorised the token (``/v2/userinfo``).
    """

    platform: ClassVar[str] = "linkedin"
    can_publish_text: ClassVar[bool] = True
    max_length: ClassVar[int] = 3000
    #: impressions and reposts are reported for organization pages only
    metrics_fields: ClassVar[frozenset[str]] = frozenset(
        {"likes", "replies", "reposts", "impressions"}
    )
    supports_idempotency_key: ClassVar[bool] = False
    accepts_image_url: ClassVar[bool] = False  # images go through the Images API upload
    default_base_url: ClassVar[str | None] = "https://api.linkedin.com"
    oauth: ClassVar[OAuthSpec | None] = OAUTH

    def __init__(
        self,
        *,
        client: httpx.AsyncClient,
        base_url: str,
        credentials: Credentials,
        context: ConnectorContext | None = None,
    ) -> None:
        spec = OAUTH
        if base_url.rstrip("/") != self.default_base_url:  # a sandbox keeps refreshes local
            spec = replace(OAUTH, token_url="/oauth/v2/accessToken")
        self._session = ApiSession(
            platform=self.platform,
            client=client,
            base_url=base_url,
            credentials=credentials,
            context=context,
            auth=OAuth2RefreshAuth(spec),
            read_limits=no_rate_limit_headers,  # none, not even on a 429
            classify_error=self._classify,
        )
        self._author = credentials.get("author_urn")
        self._handle = credentials.get("handle")
        self._member_name = credentials.get("member_name")
        self._version = credentials.get("linkedin_version") or LINKEDIN_VERSION

    @classmethod
    async def finish_authorization(
        cls,
        *,
        client: httpx.AsyncClient,
        base_url: str,
        credentials: Credentials,
        token_response: Mapping[str, object],
    ) -> Credentials:
        """After ``brandkit auth linkedin``: store the member's URN and name (``/v2/userinfo``).

        Syncs then skip the lookup; ``--set author_urn=urn:li:organization:…`` still wins, the
        command applying it afterwards. Should the lookup fail, the connector retries it lazily.
        """
        if credentials.get("author_urn"):
            return credentials
        connector = cls(client=client, base_url=base_url, credentials=credentials)
        try:
            author = await connector._author_urn()
        except PlatformError:
            return credentials
        return credentials.with_updates(author_urn=author, member_name=connector._member_name)

    async def publish(
        self, text: str, *, idempotency_key: str, image_url: str | None = None
    ) -> PublishResult:
        """Post ``text`` publicly as the author; LinkedIn takes no idempotency key.

        The text is escaped as little text here, on its way out, so every reserved character
        shows as typed and hashtags stay hashtags.
        """
        if image_url is not None:
            raise RejectedError(
                "LinkedIn attaches images uploaded through its Images API, not an image by URL",
                platform=self.platform,
                hint="post the text alone on LinkedIn",
            )
        author = await self._author_urn()
        call = self._session.call("publish", is_publish=True)
        body = {
            "author": author,
            "commentary": escape_little_text(text),
            "visibility": "PUBLIC",
            "distribution": {
                "feedDistribution": "MAIN_FEED",
                "targetEntities": [],
                "thirdPartyDistributionChannels": [],
            },
            "lifecycleState": "PUBLISHED",
            "isReshareDisabledByAuthor": False,
        }
        response = await self._request("POST", "/rest/posts", call, json=body)
        urn = response.headers.get("x-restli-id", "").strip()
        if not urn.startswith("urn:li:"):
            raise http.malformed(response, "no post URN in the x-restli-id header", call)
        return PublishResult(remote_id=urn, url=post_url(urn), published_at=self._now())

    async def fetch_profile(self) -> ProfileCounts:
        """The author's follower count (organization: network size; member: followers count)."""
        author = await self._author_urn()
        call = self._session.call("fetch follower count")
        if author.startswith(ORGANIZATION):
            path = f"/rest/networkSizes/{quote(author, safe='')}"
            params = {"edgeType": "COMPANY_FOLLOWED_BY_MEMBER"}
            response = await self._request("GET", path, call, params=params)
            followers = ApiSession.parse(response, network_size, call)
        else:
            params = {"q": "me"}
            response = await self._request("GET", "/rest/memberFollowersCount", call, params=params)
            followers = ApiSession.parse(response, member_followers, call)
        return ProfileCounts(
            remote_id=author,
            handle=self._handle
            or (self._member_name if author.startswith(PERSON) else None)
            or author,
            followers=followers,
            following=None,
            posts_count=None,
        )

    async def fetch_post_metrics(
        self, *, since: datetime | None = None
    ) -> AsyncIterator[PostStats]:
        """The author's posts, newest first, each with the counters LinkedIn reports for it.

        One statistics request per page of posts; with ``since``, paging stops at the first
        page that reaches older posts (the finder sorts by creation time).
        """
        cutoff = reconcile.aware(since) if since is not None else None
        author = await self._author_urn()
        call = self._session.call("fetch post metrics")
        async with aclosing(self._pages(author, call)) as pages:
            async for page in pages:
                wanted = [p for p in page if cutoff is None or p.created_at >= cutoff]
                counts = await self._counts(author, [p.urn for p in wanted], call)
                for post in wanted:
                    found = counts.get(post.urn, Counts())
                    yield PostStats(
                        remote_id=post.urn,
                        created_at=post.created_at,
                        url=post_url(post.urn),
                        likes=found.likes,
                        reposts=found.reposts,
                        replies=found.replies,
                        impressions=found.impressions,
                        text=post.text,
                    )
                if len(wanted) < len(page):
                    return

    async def find_post(
        self, *, idempotency_key: str, text: str, not_before: datetime
    ) -> PublishResult | None:
        """The author's post with this ``text`` created since ``not_before``, if any.

        LinkedIn has no idempotency key, so the latest two pages of posts are read and their
        ``commentary``, unescaped from little text, is compared with ``text``.
        """
        author = await self._author_urn()
        call = self._session.call("find post")
        return await reconcile.find_by_text(
            self._pages(author, call, max_pages=FIND_POST_PAGES),
            text,
            not_before=not_before,
            result=lambda post: PublishResult(post.urn, post_url(post.urn), post.created_at),
        )

    # --- internals ------------------------------------------------------------------------

    def _now(self) -> datetime:
        return self._session.clock.now()

    async def _author_urn(self) -> str:
        if self._author is None:
            call = self._session.call("identify the member")
            response = await self._request("GET", "/v2/userinfo", call, versioned=False)
            sub, self._member_name = ApiSession.parse(response, userinfo, call)
            self._author = PERSON + sub
        if not self._author.startswith((PERSON, ORGANIZATION)):
            raise PlatformError(
                f"author_urn {self._author!r} is neither urn:li:person:… nor urn:li:organization:…",
                platform=self.platform,
                hint="store the page's URN as author_urn (brandkit accounts add linkedin), "
                "or leave it out to post as the member who authorised brandkit",
            )
        return self._author

    async def _pages(
        self, author: str, call: http.Call, *, max_pages: int | None = None
    ) -> AsyncGenerator[list[Post], None]:
        """The author's posts page by page, newest first, until the finder has no more."""
        start, read = 0, 0
        while max_pages is None or read < max_pages:
            params = {
                "author": author,
                "q": "author",
                "count": PAGE_SIZE,
                "start": start,
                "sortBy": "CREATED",
            }
            response = await self._request(
                "GET", "/rest/posts", call, params=params, headers={"X-RestLi-Method": "FINDER"}
            )
            page = ApiSession.parse(
                response, partial(parse_posts_page, start=start, count=PAGE_SIZE), call
            )
            read += 1
            if page.posts:
                yield page.posts
            if not page.more:
                return
            start += page.received

    async def _counts(self, author: str, urns: list[str], call: http.Call) -> dict[str, Counts]:
        """Counters for ``urns``: share statistics for a page, social actions for a member."""
        if not urns:
            return {}
        if author.startswith(ORGANIZATION):
            query = "q=organizationalEntity&organizationalEntity=" + quote(author, safe="")
            shares = [u for u in urns if u.startswith("urn:li:share:")]
            ugc = [u for u in urns if u.startswith("urn:li:ugcPost:")]
            query += f"&shares={_urn_list(shares)}" if shares else ""
            query += f"&ugcPosts={_urn_list(ugc)}" if ugc else ""
            path, parse = f"/rest/organizationalEntityShareStatistics?{query}", share_statistics
        else:
            path, parse = f"/rest/socialActions?ids={_urn_list(urns)}", social_actions
        response = await self._request("GET", path, call)
        return ApiSession.parse(response, parse, call)

    async def _request(
        self,
        method: str,
        path: str,
        call: http.Call,
        *,
        params: Mapping[str, Any] | None = None,
        json: object = None,
        headers: Mapping[str, str] | None = None,
        versioned: bool = True,
    ) -> httpx.Response:
        """One call through the shared session, with LinkedIn's version headers on /rest/."""
        sent = dict(headers or {})
        if versioned:
            sent |= {"LinkedIn-Version": self._version, "X-Restli-Protocol-Version": "2.0.0"}
        try:
            return await self._session.request(
                method, path, call, params=params, json=json, headers=sent
            )
        except RateLimitedError as exc:
            if exc.reset_at is not None:
                raise
            raise self._daily_limit(exc) from exc

    def _daily_limit(self, exc: RateLimitedError) -> RateLimitedError:
        """A 429 with no ``Retry-After``, still refused after the session's retries.

        LinkedIn's limits are daily and reset at 00:00 UTC; its 429s say nothing else, and the
        short-lived ones (infrastructure protection) are already absorbed by the retries. So the
        account waits until the next UTC midnight, recorded so no other call spends the day.
        """
        reset = next_utc_midnight(self._now())
        self._session.context.limits.record(
            self._session.account_key, RateLimit(limit=None, remaining=0, reset_at=reset)
        )
        return RateLimitedError(
            exc.reason,
            platform=self.platform,
            reset_at=reset,
            status=exc.status,
            body=exc.body,
            hint="LinkedIn's daily call limits reset at 00:00 UTC; brandkit will try again then",
        )

    def _classify(self, response: httpx.Response, call: http.Call) -> PlatformError | None:
        """The shared classification, worded with LinkedIn's ``message`` and a useful hint."""
        said = error_text(response)
        if response.status_code == 429 or said is None:
            return None
        try:
            http.raise_for_status(response, call)
        except PlatformError as exc:
            hint = {401: REAUTHORISE, 403: _PERMISSION_HINT}.get(response.status_code, exc.hint)
            message = f"{call.action} failed (HTTP {response.status_code}): "
            return reworded(exc, message + http.redact(said, call.secrets)[:300], hint)
        return None

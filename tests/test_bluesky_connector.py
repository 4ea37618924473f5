"""The Bluesky connector against a fake PDS answering with ``tests/fixtures/bluesky`` payloads.

The fake branches on the XRPC method name (as httpx's ``tests/client/test_redirects.py`` branches
on the path); any method can be overridden per test. See the fixtures' README for the
documentation page of each file.
"""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from brandkit.clock import SimulatedClock
from brandkit.errors import (
    AuthExpiredError,
    OutcomeUnknownError,
    PlatformError,
    RateLimitedError,
    RejectedError,
    TransientError,
)
from brandkit.platforms.api import NO_RETRY, RetryPolicy
from brandkit.platforms.base import (
    Connector,
    Credentials,
    PostStats,
    ProfileCounts,
    PublishResult,
    RateLimit,
    create_connector,
)
from brandkit.platforms.bluesky import BlueskyConnector
from brandkit.platforms.bluesky_richtext import build_facets, mention_handles, post_languages
from brandkit.platforms.bluesky_session import jwt_expiry
from brandkit.platforms.bluesky_xrpc import record_key
from tests.connector_support import FakeServer, Fixtures, Handler, MemoryStore, collect, connect

load = Fixtures("bluesky").load
BASE_URL = "https://pds.sakura-clinic.example"
DID = "did:plc:7iza6de2dwap2sbkpav7c6c6"
HANDLE = "dr-sato.bsky.social"
NURSE_DID = "did:plc:2ro3rwk6vhdqpdvc4sd3pyb3"
APP_PASSWORD = "abcd-efgh-ijkl-mnop"
NOW = datetime(2026, 11, 24, 1, 30, tzinfo=UTC)
RESET_EPOCH = 1795484100  # 2026-11-24T01:35:00Z
RESET_AT = datetime(2026, 11, 24, 1, 35, tzinfo=UTC)
FLU_TEXT = (
    "インフルエンザの予防接種、受付中です💉 詳しくは https://sakura-clinic.example.jp/flu "
    "#インフルエンザ @nurse-kato.bsky.social"
)
FLU_KEY = record_key("variant-42")
FLU_URI = f"at://{DID}/app.bsky.feed.post/{FLU_KEY}"
TID = re.compile(r"^[234567abcdefghij][234567abcdefghijklmnopqrstuvwxyz]{12}$")


SESSION = load("create_session.json")
REFRESHED = load("refresh_session.json")
PAGE1_CURSOR = load("author_feed_page1.json")["cursor"]


def answer(payload: object, status: int = 200, **headers: str) -> httpx.Response:
    """A JSON answer with the ``RateLimit-*`` headers ``@atproto/xrpc-server`` sends."""
    limits = {
        "RateLimit-Limit": "3000",
        "RateLimit-Remaining": "2999",
        "RateLimit-Reset": str(RESET_EPOCH),
        "RateLimit-Policy": "3000;w=300",
    }
    return httpx.Response(status, json=payload, headers={**limits, **headers})


def error(name: str, status: int) -> Handler:
    return lambda request: answer(load(name), status=status)


def session_credentials(**extra: str) -> Credentials:
    """A stored session, as the connector saves it after signing in."""
    return Credentials(
        token=SESSION["accessJwt"],
        extra={
            "identifier": HANDLE,
            "app_password": APP_PASSWORD,
            "refresh_jwt": SESSION["refreshJwt"],
            "did": DID,
            "handle": HANDLE,
            "expires_at": "2026-11-24T03:00:00+00:00",
            **extra,
        },
    )


class FakePds(FakeServer):
    """A PDS: documented answers per XRPC method, any of which a test can override.

    An override is a handler, or a list of handlers used one per request (the last one stays).
    """

    def key(self, request: httpx.Request) -> str:
        return request.url.path.removeprefix("/xrpc/")

    def fallback(self, request: httpx.Request) -> httpx.Response:
        nsid, params = self.key(request), request.url.params
        if nsid == "com.atproto.server.createSession":
            return answer(SESSION)
        if nsid == "com.atproto.server.refreshSession":
            return answer(REFRESHED)
        if nsid == "com.atproto.server.getSession":
            return answer(load("get_session.json"))
        if nsid == "com.atproto.identity.resolveHandle":
            if params.get("handle") == "nurse-kato.bsky.social":
                return answer(load("resolve_handle.json"))
            return answer(load("error_handle_not_found.json"), status=400)
        if nsid == "com.atproto.repo.createRecord":
            return answer(load("create_record.json"))
        if nsid == "com.atproto.repo.getRecord":
            return answer(load("error_record_not_found.json"), status=400)
        if nsid == "app.bsky.actor.getProfile":
            return answer(load("get_profile.json"))
        if nsid == "app.bsky.feed.getAuthorFeed":
            page = "author_feed_page2.json" if params.get("cursor") else "author_feed_page1.json"
            return answer(load(page))
        return answer({"error": "MethodNotImplemented", "message": nsid}, status=501)

    def calls(self) -> list[str]:
        return [r.url.path.removeprefix("/xrpc/") for r in self.requests]

    def sent(self, nsid: str) -> list[httpx.Request]:
        return [r for r in self.requests if r.url.path == f"/xrpc/{nsid}"]


class Rig:
    """Builds connectors around one fake PDS, one client and a simulated clock."""

    def __init__(self, server: FakePds, client: httpx.AsyncClient) -> None:
        self.server = server
        self.client = client
        self.clock = SimulatedClock(NOW)
        self.store: MemoryStore | None = None

    def connector(
        self, credentials: Credentials | None = None, retry: RetryPolicy = NO_RETRY
    ) -> BlueskyConnector:
        credentials = credentials or session_credentials()
        self.store = MemoryStore(credentials)
        return connect(
            BlueskyConnector,
            self.client,
            self.clock,
            credentials,
            base_url=BASE_URL,
            retry=retry,
            store=self.store,
            account_key="account:7",
        )

    @property
    def saved(self) -> Credentials:
        assert self.store is not None and self.store.saved, "no credentials were saved"
        return self.store.saved[-1]


@pytest.fixture
def server() -> FakePds:
    return FakePds()


@pytest.fixture
def rig(server: FakePds, client: httpx.AsyncClient) -> Rig:
    return Rig(server, client)


def bearer(request: httpx.Request) -> str | None:
    return request.headers.get("authorization")


# --- record keys, tokens, languages ----------------------------------------------------------


def test_record_key_is_a_tid_fixed_by_the_idempotency_key() -> None:
    assert record_key("variant-42") == record_key("variant-42") == FLU_KEY
    assert record_key("variant-42") != record_key("variant-43")
    assert TID.match(FLU_KEY)


@given(st.text(max_size=64))
def test_every_record_key_is_a_valid_tid_dated_in_2023(key: str) -> None:
    rkey = record_key(key)
    assert TID.match(rkey)
    value = 0
    for char in rkey:
        value = value * 32 + "234567abcdefghijklmnopqrstuvwxyz".index(char)
    assert value < 2**63
    written = datetime.fromtimestamp((value >> 10) / 1_000_000, UTC)
    assert datetime(2023, 1, 1, tzinfo=UTC) <= written < datetime(2024, 1, 1, tzinfo=UTC)


def test_jwt_expiry_reads_the_exp_claim_without_verifying() -> None:
    assert jwt_expiry(SESSION["accessJwt"]) == datetime(2026, 11, 24, 3, 0, tzinfo=UTC)
    assert jwt_expiry(REFRESHED["accessJwt"]) == datetime(2026, 11, 24, 5, 30, tzinfo=UTC)
    for junk in ("", "abcd-efgh-ijkl-mnop", "a.b.c", "eyJ.%%%.x", None):
        assert jwt_expiry(junk) is None


@pytest.mark.parametrize(
    ("text", "langs"),
    [
        (FLU_TEXT, ["ja"]),
        ("Clinic closed on Monday. #health", ["en"]),
        ("詳しくは https://sakura-clinic.example.jp/flu を見てね", ["ja"]),
        ("https://sakura-clinic.example.jp/flu #健康 @nurse-kato.bsky.social 😷", []),
        ("😷💉", []),
    ],
)
def test_post_languages_are_guessed_from_the_prose(text: str, langs: list[str]) -> None:
    assert post_languages(text) == langs


# --- facets ----------------------------------------------------------------------------------


def _slice(text: str, facet: dict[str, Any]) -> str:
    index = facet["index"]
    return text.encode()[index["byteStart"] : index["byteEnd"]].decode()


def test_facets_use_utf8_byte_offsets_for_japanese_and_emoji() -> None:
    facets = build_facets(FLU_TEXT, {"nurse-kato.bsky.social": NURSE_DID})

    assert facets == load("get_record.json")["value"]["facets"]
    assert [_slice(FLU_TEXT, f) for f in facets] == [
        "https://sakura-clinic.example.jp/flu",
        "#インフルエンザ",
        "@nurse-kato.bsky.social",
    ]
    # 18 kana/kanji × 3 bytes, 💉 4, a space, 詳しくは 4 × 3, a space: the URL starts at byte 72
    assert facets[0]["index"] == {"byteStart": 72, "byteEnd": 72 + 36}


def test_a_mention_that_did_not_resolve_stays_plain_text() -> None:
    facets = build_facets("Thanks @nobody.bsky.social!", {})
    assert facets == []


LINK = "https://sakura-clinic.example.jp/flu"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("see clinic.jp today", [("link", "clinic.jp", "https://clinic.jp")]),
        # linked straight after Japanese text, and not past it
        (f"詳しくは{LINK}へ", [("link", LINK, LINK)]),
        (
            "#COVID-19 #flu_shot #健康。",
            [
                ("tag", "#COVID-19", "COVID-19"),
                ("tag", "#flu_shot", "flu_shot"),
                ("tag", "#健康", "健康"),
            ],
        ),
        # Bluesky's rule: a tag runs to the next space (the official app does the same)
        ("#flu_shot、#健康", [("tag", "#flu_shot、#健康", "flu_shot、#健康")]),
        ("#123 #😷 ＃予防", [("tag", "#😷", "😷"), ("tag", "＃予防", "予防")]),
        ("C#です", []),
        ("email info@clinic.jp", []),  # not a mention, and the domain after @ is not a link
        ("(@nurse-kato.bsky.social)", [("mention", "@nurse-kato.bsky.social", NURSE_DID)]),
        ("先生@nurse-kato.bsky.social", []),  # a mention starts after a space or "("
        ("#" + "長" * 65, []),  # a tag has at most 64 graphemes
    ],
)
def test_facet_examples(text: str, expected: list[tuple[str, str, str]]) -> None:
    got = []
    for facet in build_facets(text, {"nurse-kato.bsky.social": NURSE_DID}):
        (feature,) = facet["features"]
        value = feature.get("uri") or feature.get("tag") or feature.get("did")
        got.append((feature["$type"].rsplit("#", 1)[1], _slice(text, facet), value))
    assert got == expected


PIECES = st.sampled_from(
    [
        "今日は",
        "インフルエンザ",
        "予防接種",
        "😷",
        "👨‍👩‍👧",
        "🇯🇵",
        "e\u0301",
        "Flu",
        "shot",
        "。",
        "、",
        " ",
        "　",
        "\n",
        "(",
        ")",
        "!",
        "https://sakura-clinic.example.jp/flu",
        "https://clinic.jp/予約?x=1",
        "clinic.jp",
        "#健康",
        "#flu_shot",
        "#COVID-19",
        "＃予防",
        "#",
        "@nurse-kato.bsky.social",
        "@dr-sato.bsky.social",
        "@unknown.bsky.social",
        "@",
    ]
)
TEXTS = st.lists(
    st.one_of(PIECES, st.text(st.characters(blacklist_categories=("Cs",)), max_size=4)),
    max_size=30,
).map("".join)


@settings(max_examples=300, deadline=None)
@given(TEXTS)
def test_every_facet_slices_exactly_its_link_tag_or_mention(text: str) -> None:
    dids = {handle: f"did:plc:{n}" for n, handle in enumerate(mention_handles(text))}
    handles = {did: handle for handle, did in dids.items()}
    data = text.encode()
    end_of_previous = 0
    for facet in build_facets(text, dids):
        start, end = facet["index"]["byteStart"], facet["index"]["byteEnd"]
        assert end_of_previous <= start < end <= len(data), "facets overlap or leave the text"
        end_of_previous = end
        piece = data[start:end].decode()  # raises if an offset splits a character
        (feature,) = facet["features"]
        kind = feature["$type"]
        if kind == "app.bsky.richtext.facet#link":
            assert feature["uri"] in (piece, "https://" + piece)
        elif kind == "app.bsky.richtext.facet#tag":
            assert piece in ("#" + feature["tag"], "＃" + feature["tag"])
        else:
            assert kind == "app.bsky.richtext.facet#mention"
            assert piece.lower() == "@" + handles[feature["did"]]


# --- the connector's shape and reads -----------------------------------------------------------


async def test_connector_satisfies_the_protocol(rig: Rig) -> None:
    connector = rig.connector()
    assert isinstance(connector, Connector)
    assert isinstance(
        create_connector(
            "bluesky", client=rig.client, base_url=BASE_URL, credentials=session_credentials()
        ),
        BlueskyConnector,
    )
    assert (connector.platform, connector.max_length) == ("bluesky", 300)
    assert connector.metrics_fields == {"likes", "reposts", "replies", "quotes", "bookmarks"}
    assert connector.supports_idempotency_key is True
    assert BlueskyConnector.default_base_url == "https://bsky.social"
    assert SESSION["accessJwt"] not in repr(connector) and APP_PASSWORD not in repr(connector)


async def test_fetch_profile_reads_the_counts_with_the_session_token(
    rig: Rig, server: FakePds
) -> None:
    connector = rig.connector()

    profile = await connector.fetch_profile()

    assert profile == ProfileCounts(
        remote_id=DID, handle=HANDLE, followers=1287, following=164, posts_count=412
    )
    (request,) = server.requests
    assert request.url.params["actor"] == DID
    assert bearer(request) == f"Bearer {SESSION['accessJwt']}"
    assert connector.last_rate_limit == RateLimit(limit=3000, remaining=2999, reset_at=RESET_AT)


async def test_post_metrics_follow_the_cursor_and_skip_reposts(rig: Rig, server: FakePds) -> None:
    posts = await collect(rig.connector())

    assert [p.remote_id.rsplit("/", 1)[1] for p in posts] == [
        FLU_KEY,
        "3lbudc2qjhc2n",
        "3lbjbmcsc7c2t",
        "3lat2i7ox7k2k",
    ]  # the repost of the ministry's post is not the account's own
    first, second = server.sent("app.bsky.feed.getAuthorFeed")
    assert dict(first.url.params) == {"actor": DID, "limit": "100", "filter": "posts_no_replies"}
    assert second.url.params["cursor"] == PAGE1_CURSOR
    assert posts[0] == PostStats(
        remote_id=FLU_URI,
        created_at=datetime(2026, 11, 20, 3, 15, 42, 123000, tzinfo=UTC),
        url=f"https://bsky.app/profile/{HANDLE}/post/{FLU_KEY}",
        likes=12,
        reposts=3,
        replies=2,
        quotes=1,
        bookmarks=4,
        impressions=None,
        text=FLU_TEXT,
    )
    assert (posts[-1].quotes, posts[-1].bookmarks, posts[-1].likes) == (None, None, 7)


async def test_since_stops_paging_at_the_first_older_post(rig: Rig, server: FakePds) -> None:
    posts = await collect(rig.connector(), since=datetime(2026, 11, 19, tzinfo=UTC))

    assert [p.remote_id.rsplit("/", 1)[1] for p in posts] == [FLU_KEY]
    assert server.calls() == ["app.bsky.feed.getAuthorFeed"]  # page 2 is never asked for


async def test_a_repeated_cursor_ends_paging(rig: Rig, server: FakePds) -> None:
    server.overrides["app.bsky.feed.getAuthorFeed"] = lambda r: answer(
        load("author_feed_page1.json")
    )

    posts = await collect(rig.connector())

    assert len(posts) == 4  # the same page twice, then the loop is noticed
    assert server.calls() == ["app.bsky.feed.getAuthorFeed"] * 2


async def test_rate_limit_exceeded_raises_with_the_epoch_reset(rig: Rig, server: FakePds) -> None:
    reset = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)
    server.overrides["app.bsky.actor.getProfile"] = lambda r: answer(
        load("error_rate_limit.json"),
        status=429,
        **{"RateLimit-Remaining": "0", "RateLimit-Reset": str(int(reset.timestamp()))},
    )

    with pytest.raises(RateLimitedError) as caught:
        await rig.connector(retry=RetryPolicy(attempts=3, max_wait=60)).fetch_profile()

    assert caught.value.reset_at == reset
    assert "Rate Limit Exceeded" in str(caught.value)
    assert server.calls() == ["app.bsky.actor.getProfile"]


# --- sessions ----------------------------------------------------------------------------------


async def test_first_use_signs_in_with_the_app_password_and_saves_the_session(
    rig: Rig, server: FakePds
) -> None:
    connector = rig.connector(
        Credentials(token="", extra={"identifier": HANDLE, "app_password": APP_PASSWORD})
    )

    profile = await connector.fetch_profile()

    assert profile.followers == 1287
    assert server.calls() == [
        "com.atproto.server.createSession",
        "com.atproto.server.getSession",
        "app.bsky.actor.getProfile",
    ]
    assert json.loads(server.requests[0].content) == {
        "identifier": HANDLE,
        "password": APP_PASSWORD,
    }
    assert all(bearer(r) != f"Bearer {APP_PASSWORD}" for r in server.requests)
    assert bearer(server.requests[-1]) == f"Bearer {SESSION['accessJwt']}"
    saved = rig.saved
    assert saved.token == SESSION["accessJwt"]
    assert dict(saved.extra) == {
        "identifier": HANDLE,
        "app_password": APP_PASSWORD,
        "refresh_jwt": SESSION["refreshJwt"],
        "did": DID,
        "handle": HANDLE,
        "expires_at": "2026-11-24T03:00:00+00:00",
        "refresh_expires_at": "2027-01-23T01:00:00+00:00",
    }


def test_accounts_add_stores_the_app_password_and_identifier() -> None:
    stored = BlueskyConnector.credentials_from_secret(
        APP_PASSWORD, {"identifier": HANDLE, "did": DID, "refresh_expires_at": "2027-01-01"}
    )

    assert stored.token == APP_PASSWORD
    assert dict(stored.extra) == {"did": DID, "identifier": HANDLE, "app_password": APP_PASSWORD}
    with pytest.raises(ValueError, match="--set identifier="):
        BlueskyConnector.credentials_from_secret(APP_PASSWORD, {})
    with pytest.raises(ValueError, match="app password"):
        BlueskyConnector.credentials_from_secret(SESSION["accessJwt"], {"identifier": HANDLE})


async def test_credentials_from_accounts_add_sign_in_on_first_use(
    rig: Rig, server: FakePds
) -> None:
    stored = BlueskyConnector.credentials_from_secret(APP_PASSWORD, {"identifier": HANDLE})

    await rig.connector(stored).fetch_profile()

    assert server.calls()[0] == "com.atproto.server.createSession"
    assert server.requests[0].headers.get("authorization") is None
    assert rig.saved.token == SESSION["accessJwt"]
    assert rig.saved.get("app_password") == APP_PASSWORD


async def test_an_app_password_stored_as_the_token_is_moved_aside(
    rig: Rig, server: FakePds
) -> None:
    connector = rig.connector(Credentials(token=APP_PASSWORD, extra={"identifier": HANDLE}))

    await connector.fetch_profile()

    assert server.requests[0].headers.get("authorization") is None
    assert json.loads(server.requests[0].content)["password"] == APP_PASSWORD
    assert rig.saved.token == SESSION["accessJwt"]
    assert rig.saved.get("app_password") == APP_PASSWORD


async def test_a_saved_session_is_reused_by_the_next_process(rig: Rig, server: FakePds) -> None:
    first = rig.connector(Credentials(token=APP_PASSWORD, extra={"identifier": HANDLE}))
    await first.fetch_profile()
    saved = rig.saved
    server.requests.clear()

    await rig.connector(saved).fetch_profile()

    assert server.calls() == ["app.bsky.actor.getProfile"]


async def test_an_expiring_session_is_refreshed_with_the_refresh_jwt(
    rig: Rig, server: FakePds
) -> None:
    rig.clock.set(datetime(2026, 11, 24, 2, 59, 30, tzinfo=UTC))  # 30 s before exp

    await rig.connector().fetch_profile()

    assert server.calls() == ["com.atproto.server.refreshSession", "app.bsky.actor.getProfile"]
    refresh, read = server.requests
    assert bearer(refresh) == f"Bearer {SESSION['refreshJwt']}"
    assert bearer(read) == f"Bearer {REFRESHED['accessJwt']}"
    assert rig.saved.token == REFRESHED["accessJwt"]
    assert rig.saved.get("refresh_jwt") == REFRESHED["refreshJwt"]
    assert rig.saved.get("expires_at") == "2026-11-24T05:30:00+00:00"
    assert rig.saved.get("app_password") == APP_PASSWORD


async def test_a_refused_refresh_jwt_falls_back_to_signing_in(rig: Rig, server: FakePds) -> None:
    rig.clock.set(datetime(2026, 11, 24, 4, 0, tzinfo=UTC))
    server.overrides["com.atproto.server.refreshSession"] = error("error_expired_token.json", 400)

    await rig.connector().fetch_profile()

    assert server.calls() == [
        "com.atproto.server.refreshSession",
        "com.atproto.server.createSession",
        "app.bsky.actor.getProfile",
    ]
    assert rig.saved.token == SESSION["accessJwt"]


async def test_an_expired_refresh_jwt_goes_straight_to_signing_in(
    rig: Rig, server: FakePds
) -> None:
    rig.clock.set(datetime(2026, 11, 24, 4, 0, tzinfo=UTC))
    credentials = session_credentials(refresh_expires_at="2026-11-24T03:30:00+00:00")

    await rig.connector(credentials).fetch_profile()

    assert server.calls() == ["com.atproto.server.createSession", "app.bsky.actor.getProfile"]


async def test_a_failing_refresh_does_not_spend_a_sign_in(rig: Rig, server: FakePds) -> None:
    rig.clock.set(datetime(2026, 11, 24, 4, 0, tzinfo=UTC))
    server.overrides["com.atproto.server.refreshSession"] = error("error_internal.json", 502)

    with pytest.raises(TransientError):
        await rig.connector().fetch_profile()

    assert server.calls() == ["com.atproto.server.refreshSession"]


async def test_a_400_expired_token_renews_the_session_and_resends_once(
    rig: Rig, server: FakePds
) -> None:
    server.overrides["app.bsky.actor.getProfile"] = [
        error("error_expired_token.json", 400),
        lambda r: answer(load("get_profile.json")),
    ]

    profile = await rig.connector().fetch_profile()

    assert profile.followers == 1287
    assert server.calls() == [
        "app.bsky.actor.getProfile",
        "com.atproto.server.refreshSession",
        "app.bsky.actor.getProfile",
    ]
    assert bearer(server.requests[-1]) == f"Bearer {REFRESHED['accessJwt']}"


async def test_a_token_refused_twice_is_auth_expired(rig: Rig, server: FakePds) -> None:
    server.overrides["app.bsky.actor.getProfile"] = error("error_invalid_token.json", 400)

    with pytest.raises(AuthExpiredError) as caught:
        await rig.connector().fetch_profile()

    assert "Token could not be verified" in str(caught.value)
    assert "app password" in (caught.value.hint or "")
    assert server.calls().count("app.bsky.actor.getProfile") == 2


async def test_an_access_token_alone_cannot_be_renewed(rig: Rig, server: FakePds) -> None:
    credentials = Credentials(token=SESSION["accessJwt"], extra={"did": DID})
    server.overrides["app.bsky.actor.getProfile"] = error("error_expired_token.json", 400)

    with pytest.raises(AuthExpiredError):
        await rig.connector(credentials).fetch_profile()

    assert server.calls() == ["app.bsky.actor.getProfile"]


async def test_a_revoked_app_password_is_auth_expired_without_secrets(
    rig: Rig, server: FakePds, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    rig.clock.set(datetime(2026, 11, 24, 4, 0, tzinfo=UTC))
    server.overrides["com.atproto.server.refreshSession"] = error("error_expired_token.json", 400)
    server.overrides["com.atproto.server.createSession"] = error("error_auth_required.json", 401)

    with pytest.raises(AuthExpiredError) as caught:
        await rig.connector().fetch_profile()

    assert "Invalid identifier or password" in str(caught.value)
    assert "App passwords" in (caught.value.hint or "")
    seen = "\n".join(
        [str(caught.value), caught.value.body or "", repr(caught.value)]
        + [r.getMessage() for r in caplog.records]
    )
    for secret in (APP_PASSWORD, SESSION["accessJwt"], SESSION["refreshJwt"]):
        assert secret not in seen


async def test_without_identifier_the_sign_in_cannot_happen(rig: Rig, server: FakePds) -> None:
    with pytest.raises(AuthExpiredError) as caught:
        await rig.connector(Credentials(token=APP_PASSWORD)).fetch_profile()

    assert "identifier" in str(caught.value)
    assert all(bearer(r) != f"Bearer {APP_PASSWORD}" for r in server.requests)


# --- publishing --------------------------------------------------------------------------------


async def test_publish_creates_the_record_under_the_derived_key(rig: Rig, server: FakePds) -> None:
    result = await rig.connector().publish(FLU_TEXT, idempotency_key="variant-42")

    assert result == PublishResult(
        remote_id=FLU_URI,
        url=f"https://bsky.app/profile/{HANDLE}/post/{FLU_KEY}",
        published_at=NOW,
    )
    assert server.calls() == ["com.atproto.identity.resolveHandle", "com.atproto.repo.createRecord"]
    assert server.requests[0].url.params["handle"] == "nurse-kato.bsky.social"
    (create,) = server.sent("com.atproto.repo.createRecord")
    assert create.method == "POST" and bearer(create) == f"Bearer {SESSION['accessJwt']}"
    assert json.loads(create.content) == {
        "repo": DID,
        "collection": "app.bsky.feed.post",
        "rkey": FLU_KEY,
        "record": {
            "$type": "app.bsky.feed.post",
            "text": FLU_TEXT,
            "createdAt": "2026-11-24T01:30:00.000Z",
            "langs": ["ja"],
            "facets": load("get_record.json")["value"]["facets"],
        },
    }


async def test_a_resend_of_an_existing_record_returns_the_first_post(
    rig: Rig, server: FakePds
) -> None:
    server.overrides["com.atproto.repo.createRecord"] = error("error_internal.json", 500)
    server.overrides["com.atproto.repo.getRecord"] = lambda r: answer(load("get_record.json"))

    result = await rig.connector().publish(FLU_TEXT, idempotency_key="variant-42")

    assert result.remote_id == FLU_URI
    assert result.published_at == datetime(2026, 11, 20, 3, 15, 42, 123000, tzinfo=UTC)
    assert len(server.sent("com.atproto.repo.createRecord")) == 1
    (lookup,) = server.sent("com.atproto.repo.getRecord")
    assert dict(lookup.url.params) == {
        "repo": DID,
        "collection": "app.bsky.feed.post",
        "rkey": FLU_KEY,
    }


async def test_an_explicit_already_exists_answer_is_also_reconciled(
    rig: Rig, server: FakePds
) -> None:
    server.overrides["com.atproto.repo.createRecord"] = lambda r: answer(
        {"error": "InvalidRequest", "message": "Record already exists"}, status=400
    )
    server.overrides["com.atproto.repo.getRecord"] = lambda r: answer(load("get_record.json"))

    result = await rig.connector().publish(FLU_TEXT, idempotency_key="variant-42")

    assert result.remote_id == FLU_URI


async def test_a_5xx_with_no_record_is_an_unknown_outcome(rig: Rig, server: FakePds) -> None:
    server.overrides["com.atproto.repo.createRecord"] = error("error_internal.json", 503)

    with pytest.raises(OutcomeUnknownError):
        await rig.connector(retry=RetryPolicy()).publish("Hello", idempotency_key="k")

    assert len(server.sent("com.atproto.repo.createRecord")) == 1
    assert len(server.sent("com.atproto.repo.getRecord")) == 1


async def test_a_malformed_create_answer_is_an_unknown_outcome(rig: Rig, server: FakePds) -> None:
    server.overrides["com.atproto.repo.createRecord"] = lambda r: httpx.Response(
        200, text="<html>gateway</html>"
    )

    with pytest.raises(OutcomeUnknownError):
        await rig.connector().publish("Hello", idempotency_key="k")


async def test_a_record_the_server_refuses_is_rejected_with_its_reason(
    rig: Rig, server: FakePds
) -> None:
    server.overrides["com.atproto.repo.createRecord"] = error("error_text_too_long.json", 400)

    with pytest.raises(RejectedError) as caught:
        await rig.connector().publish("Hello", idempotency_key="k")

    assert "must not be longer than 300 graphemes" in str(caught.value)
    assert not server.sent("com.atproto.repo.getRecord")


async def test_an_expired_token_on_publish_renews_and_sends_the_same_record(
    rig: Rig, server: FakePds
) -> None:
    server.overrides["com.atproto.repo.createRecord"] = [
        error("error_expired_token.json", 400),
        lambda r: answer(load("create_record.json")),
    ]

    result = await rig.connector().publish(FLU_TEXT, idempotency_key="variant-42")

    assert result.remote_id == FLU_URI
    first, second = server.sent("com.atproto.repo.createRecord")
    assert first.content == second.content
    assert bearer(second) == f"Bearer {REFRESHED['accessJwt']}"


@pytest.mark.parametrize(
    ("text", "image"),
    [("あ" * 301, None), ("a" * 300 + "💉", None), ("Flu shots today", "https://x.jp/a.jpg")],
)
async def test_what_bluesky_cannot_take_is_rejected_before_sending(
    rig: Rig, server: FakePds, text: str, image: str | None
) -> None:
    with pytest.raises(RejectedError) as caught:
        await rig.connector().publish(text, idempotency_key="k", image_url=image)

    assert caught.value.hint
    assert server.requests == []


async def test_three_hundred_graphemes_of_family_emoji_fit(rig: Rig, server: FakePds) -> None:
    await rig.connector().publish("👨‍👩‍👧" * 120, idempotency_key="k")  # 120 graphemes, 2,160 bytes

    assert len(server.sent("com.atproto.repo.createRecord")) == 1


async def test_an_unknown_handle_is_posted_as_plain_text(rig: Rig, server: FakePds) -> None:
    await rig.connector().publish("Thanks @nobody.bsky.social!", idempotency_key="k")

    (create,) = server.sent("com.atproto.repo.createRecord")
    assert "facets" not in json.loads(create.content)["record"]


async def test_a_failing_handle_lookup_stops_before_publishing(rig: Rig, server: FakePds) -> None:
    server.overrides["com.atproto.identity.resolveHandle"] = error("error_internal.json", 503)

    with pytest.raises(TransientError) as caught:
        await rig.connector().publish("Hi @nurse-kato.bsky.social", idempotency_key="k")

    assert not isinstance(caught.value, OutcomeUnknownError)
    assert not server.sent("com.atproto.repo.createRecord")


# --- reconciliation ----------------------------------------------------------------------------


async def test_find_post_looks_the_record_up_by_its_key(rig: Rig, server: FakePds) -> None:
    server.overrides["com.atproto.repo.getRecord"] = lambda r: answer(load("get_record.json"))

    found = await rig.connector().find_post(
        idempotency_key="variant-42", text=FLU_TEXT, not_before=NOW - timedelta(days=7)
    )

    assert found == PublishResult(
        remote_id=FLU_URI,
        url=f"https://bsky.app/profile/{HANDLE}/post/{FLU_KEY}",
        published_at=datetime(2026, 11, 20, 3, 15, 42, 123000, tzinfo=UTC),
    )
    assert server.calls() == ["com.atproto.repo.getRecord"]


async def test_find_post_falls_back_to_the_feed_by_text(rig: Rig, server: FakePds) -> None:
    found = await rig.connector().find_post(
        idempotency_key="sent-by-hand",
        text=FLU_TEXT.replace(" ", "  "),
        not_before=datetime(2026, 11, 20, tzinfo=UTC),
    )

    assert found is not None and found.remote_id == FLU_URI
    assert server.calls() == ["com.atproto.repo.getRecord", "app.bsky.feed.getAuthorFeed"]


async def test_find_post_finds_nothing_older_than_not_before(rig: Rig, server: FakePds) -> None:
    found = await rig.connector().find_post(
        idempotency_key="sent-by-hand", text=FLU_TEXT, not_before=datetime(2026, 11, 23, tzinfo=UTC)
    )

    assert found is None
    assert server.calls().count("app.bsky.feed.getAuthorFeed") == 1


async def test_find_post_raises_what_it_cannot_decide(rig: Rig, server: FakePds) -> None:
    server.overrides["com.atproto.repo.getRecord"] = error("error_internal.json", 500)

    with pytest.raises(PlatformError):
        await rig.connector().find_post(idempotency_key="k", text="x", not_before=NOW)

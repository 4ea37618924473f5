"""The Mastodon connector against a fake server, plus the shared HTTP helpers it is built on.

The fake server is a handler that branches on ``request.url.path`` (as httpx's own
``tests/client/test_redirects.py`` does) and answers with the payloads in
``tests/fixtures/mastodon`` (see its README for the documentation page of each file).
"""

from __future__ import annotations

import html
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta, timezone
from urllib.parse import parse_qs

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from brandkit.errors import (
    AuthExpiredError,
    OutcomeUnknownError,
    PlatformError,
    RateLimitedError,
    RejectedError,
    TransientError,
)
from brandkit.platforms.api import NO_RETRY, ConnectorContext
from brandkit.platforms.base import (
    Connector,
    Credentials,
    PostStats,
    ProfileCounts,
    PublishResult,
    RateLimit,
)
from brandkit.platforms.http import (
    error_body,
    next_link,
    parse_iso8601,
    parse_link_header,
    parse_retry_after,
    redact,
)
from brandkit.platforms.mastodon import MastodonConnector, comparable_text, html_to_text
from tests.connector_support import FakeServer, Fixtures, Handler, collect

load = Fixtures("mastodon").load
BASE_URL = "https://mastodon.example"
TOKEN = "tok-SECRET-9f8e7d6c5b4a3210"
ACCOUNT_ID = "109382828938474920"
STATUSES_PATH = f"/api/v1/accounts/{ACCOUNT_ID}/statuses"
RESET = "2026-11-20T03:20:00.019685Z"
RESET_AT = datetime(2026, 11, 20, 3, 20, 0, 19685, tzinfo=UTC)
FLU_ID, CLOSED_ID, QA_ID, SHOT_ID, CONF_ID, ALLERGY_ID = (
    "115583920117463041",
    "115582789402118656",
    "115555012345678912",
    "115526700000000000",
    "115465400000000000",
    "115442900000000000",
)
FLU_TEXT = "Flu season tips: wash hands, sleep well. More at https://clinic.example/flu #health"


def answer(payload: object, status: int = 200, **headers: str) -> httpx.Response:
    """A JSON answer carrying Mastodon's rate-limit headers, as every real answer does."""
    rate = {"X-RateLimit-Limit": "300", "X-RateLimit-Remaining": "299", "X-RateLimit-Reset": RESET}
    return httpx.Response(status, json=payload, headers={**rate, **headers})


def statuses_link(*, next_max_id: str | None, prev_min_id: str) -> str:
    """The ``Link`` header Mastodon sends with a page of an account's statuses."""
    url = f"{BASE_URL}{STATUSES_PATH}?limit=40&exclude_reblogs=true"
    links = [f'<{url}&min_id={prev_min_id}>; rel="prev"']
    if next_max_id:
        links.insert(0, f'<{url}&max_id={next_max_id}>; rel="next"')
    return ", ".join(links)


class FakeMastodon(FakeServer):
    """A Mastodon server: documented answers per path, any of which a test can override."""

    # max_id asked for -> (page file, max_id of its "next" link, min_id of its "prev" link)
    PAGES: dict[str | None, tuple[str, str | None, str]] = {
        None: ("account_statuses_page1.json", CLOSED_ID, FLU_ID),
        CLOSED_ID: ("account_statuses_page2.json", SHOT_ID, QA_ID),
        SHOT_ID: ("account_statuses_page3.json", None, CONF_ID),
    }

    def __init__(self) -> None:
        super().__init__()
        self.routes = {
            ("POST", "/api/v1/statuses"): lambda r: answer(load("status_created.json")),
            ("GET", "/api/v1/accounts/verify_credentials"): lambda r: answer(
                load("verify_credentials.json")
            ),
            ("GET", STATUSES_PATH): self.statuses,
        }

    def statuses(self, request: httpx.Request) -> httpx.Response:
        name, next_id, prev_id = self.PAGES[request.url.params.get("max_id")]
        link = statuses_link(next_max_id=next_id, prev_min_id=prev_id)
        return answer(load(name), Link=link)

    def fallback(self, request: httpx.Request) -> httpx.Response:
        return answer({"error": "Record not found"}, status=404)

    def status_pages_read(self) -> list[str | None]:
        return [r.url.params.get("max_id") for r in self.requests if r.url.path == STATUSES_PATH]


@pytest.fixture
def server() -> FakeMastodon:
    return FakeMastodon()


@pytest.fixture
async def connector(client: httpx.AsyncClient) -> AsyncIterator[MastodonConnector]:
    # one attempt per call: these tests pin down how each failure is classified; the
    # shared retry pipeline has its own tests (tests/test_platform_api.py)
    conn = MastodonConnector(
        client=client,
        base_url=BASE_URL + "/",
        credentials=Credentials(token=TOKEN),
        context=ConnectorContext(retry=NO_RETRY),
    )
    yield conn
    await conn.aclose()


def fail_with(error: str, status: int) -> Handler:
    return lambda request: answer({"error": error}, status=status)


def raise_(exc_type: type[httpx.TransportError], message: str = "boom") -> Handler:
    def handler(request: httpx.Request) -> httpx.Response:
        raise exc_type(message, request=request)

    return handler


# --- the happy paths ---------------------------------------------------------------------------


async def test_connector_satisfies_the_protocol(connector: MastodonConnector) -> None:
    assert isinstance(connector, Connector)
    assert connector.platform == "mastodon"
    assert connector.max_length == 500
    assert connector.metrics_fields == {"likes", "reposts", "replies", "quotes"}
    assert connector.supports_idempotency_key is True
    assert connector.can_publish_text is True
    assert connector.last_rate_limit is None


async def test_publish_sends_text_key_and_token_and_parses_the_status(
    connector: MastodonConnector, server: FakeMastodon
) -> None:
    result = await connector.publish(FLU_TEXT, idempotency_key="variant-42-attempt")

    assert result == PublishResult(
        remote_id=FLU_ID,
        url=f"{BASE_URL}/@dr_tanaka/{FLU_ID}",
        published_at=datetime(2026, 11, 20, 3, 15, 42, 123000, tzinfo=UTC),
    )
    (request,) = server.requests
    assert (request.method, str(request.url)) == ("POST", f"{BASE_URL}/api/v1/statuses")
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert request.headers["Idempotency-Key"] == "variant-42-attempt"
    assert parse_qs(request.content.decode()) == {"status": [FLU_TEXT], "visibility": ["public"]}


async def test_fetch_profile_reads_the_credential_account(
    connector: MastodonConnector, server: FakeMastodon
) -> None:
    profile = await connector.fetch_profile()

    assert profile == ProfileCounts(
        remote_id=ACCOUNT_ID, handle="dr_tanaka", followers=1287, following=164, posts_count=412
    )
    assert server.requests[0].headers["Authorization"] == f"Bearer {TOKEN}"


async def test_rate_limit_headers_are_recorded_with_the_iso_reset(
    connector: MastodonConnector,
) -> None:
    await connector.fetch_profile()

    assert connector.last_rate_limit == RateLimit(limit=300, remaining=299, reset_at=RESET_AT)


async def test_post_metrics_follow_link_headers_across_three_pages_to_the_end(
    connector: MastodonConnector, server: FakeMastodon
) -> None:
    posts = await collect(connector)

    assert [p.remote_id for p in posts] == [
        FLU_ID,
        CLOSED_ID,
        QA_ID,
        SHOT_ID,
        CONF_ID,
        ALLERGY_ID,
    ]
    assert server.paths() == ["/api/v1/accounts/verify_credentials"] + [STATUSES_PATH] * 3
    assert server.status_pages_read() == [None, CLOSED_ID, SHOT_ID]
    first = server.requests[1].url.params
    assert (first["limit"], first["exclude_reblogs"]) == ("40", "true")
    assert posts[0] == PostStats(
        remote_id=FLU_ID,
        created_at=datetime(2026, 11, 20, 3, 15, 42, 123000, tzinfo=UTC),
        url=f"{BASE_URL}/@dr_tanaka/{FLU_ID}",
        likes=12,
        reposts=3,
        replies=2,
        quotes=1,
        bookmarks=None,
        impressions=None,
        text=None,  # metrics skip the HTML: only reconciliation compares texts
    )
    assert posts[4].quotes is None  # page 3 is shaped like a server before Mastodon 4.5


def test_statuses_read_for_reconciliation_carry_their_plain_text() -> None:
    from brandkit.platforms.mastodon import _status_list

    page1, page2, page3 = (_status_list(load(f"account_statuses_page{n}.json")) for n in (1, 2, 3))
    assert page1[0].text == FLU_TEXT
    assert page1[1].text == (
        "Clinic closed on Monday 23 Nov.\nEmergency line: 03-1234-5678\n\n"
        'Stay safe & warm! "Rest" is medicine too.'
    )
    assert page2[0].text == "Q&A tonight with @nurse_sato at 20:00"
    assert page3[0].text == "Back from the conference <3"


async def test_since_stops_paging_at_the_first_older_post(
    connector: MastodonConnector, server: FakeMastodon
) -> None:
    posts = await collect(connector, since=datetime(2026, 11, 12, tzinfo=UTC))

    assert [p.remote_id for p in posts] == [FLU_ID, CLOSED_ID, QA_ID]
    assert server.status_pages_read() == [None, CLOSED_ID]  # page 3 is never asked for


async def test_account_id_is_cached_after_fetch_profile(
    connector: MastodonConnector, server: FakeMastodon
) -> None:
    await connector.fetch_profile()
    await collect(connector, since=datetime(2026, 11, 19, tzinfo=UTC))

    assert server.paths().count("/api/v1/accounts/verify_credentials") == 1


# --- failures ------------------------------------------------------------------------------------


async def test_401_is_auth_expired_with_mastodons_message(
    connector: MastodonConnector, server: FakeMastodon
) -> None:
    error = load("error_401.json")["error"]
    server.overrides["GET", "/api/v1/accounts/verify_credentials"] = fail_with(error, 401)

    with pytest.raises(AuthExpiredError) as caught:
        await connector.fetch_profile()

    assert caught.value.status == 401
    assert caught.value.platform == "mastodon"
    assert "The access token is invalid" in str(caught.value)
    assert caught.value.hint is not None and "re-authorise" in caught.value.hint


async def test_422_on_publish_is_rejected_with_mastodons_message(
    connector: MastodonConnector, server: FakeMastodon
) -> None:
    error = load("error_422.json")["error"]
    server.overrides["POST", "/api/v1/statuses"] = fail_with(error, 422)

    with pytest.raises(RejectedError) as caught:
        await connector.publish("", idempotency_key="k")

    assert caught.value.status == 422
    assert caught.value.reason == (
        "publish failed (HTTP 422): Validation failed: Text can't be blank"
    )
    assert str(caught.value).startswith("mastodon: publish failed (HTTP 422): Validation failed")


async def test_429_is_rate_limited_until_the_reset_header(
    connector: MastodonConnector, server: FakeMastodon
) -> None:
    server.overrides["GET", "/api/v1/accounts/verify_credentials"] = lambda request: answer(
        load("error_429.json"), status=429, **{"X-RateLimit-Remaining": "0"}
    )

    with pytest.raises(RateLimitedError) as caught:
        await connector.fetch_profile()

    assert caught.value.reset_at == RESET_AT
    assert "Too many requests" in str(caught.value)
    assert connector.last_rate_limit == RateLimit(limit=300, remaining=0, reset_at=RESET_AT)


async def test_429_without_rate_limit_headers_falls_back_to_retry_after(
    connector: MastodonConnector, server: FakeMastodon
) -> None:
    server.overrides["GET", "/api/v1/accounts/verify_credentials"] = lambda request: httpx.Response(
        429, json={"error": "Too many requests"}, headers={"Retry-After": "120"}
    )
    before = datetime.now(UTC)

    with pytest.raises(RateLimitedError) as caught:
        await connector.fetch_profile()

    assert caught.value.reset_at is not None
    assert timedelta(seconds=119) <= caught.value.reset_at - before <= timedelta(seconds=125)


async def test_503_on_a_read_is_transient_not_unknown(
    connector: MastodonConnector, server: FakeMastodon
) -> None:
    server.overrides["GET", STATUSES_PATH] = fail_with(load("error_503.json")["error"], 503)

    with pytest.raises(TransientError) as caught:
        await collect(connector)

    assert not isinstance(caught.value, OutcomeUnknownError)
    assert caught.value.status == 503


async def test_503_on_publish_is_outcome_unknown(
    connector: MastodonConnector, server: FakeMastodon
) -> None:
    server.overrides["POST", "/api/v1/statuses"] = fail_with(load("error_503.json")["error"], 503)

    with pytest.raises(OutcomeUnknownError) as caught:
        await connector.publish(FLU_TEXT, idempotency_key="k")

    assert caught.value.status == 503


@pytest.mark.parametrize(
    "exc_type", [httpx.ReadTimeout, httpx.WriteTimeout, httpx.RemoteProtocolError, httpx.ReadError]
)
async def test_publish_cut_off_after_sending_is_outcome_unknown(
    connector: MastodonConnector, server: FakeMastodon, exc_type: type[httpx.TransportError]
) -> None:
    server.overrides["POST", "/api/v1/statuses"] = raise_(exc_type)

    with pytest.raises(OutcomeUnknownError) as caught:
        await connector.publish(FLU_TEXT, idempotency_key="k")

    assert isinstance(caught.value.__cause__, exc_type)
    assert exc_type.__name__ in str(caught.value)


@pytest.mark.parametrize("exc_type", [httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout])
async def test_publish_that_never_connected_is_transient_not_unknown(
    connector: MastodonConnector, server: FakeMastodon, exc_type: type[httpx.TransportError]
) -> None:
    server.overrides["POST", "/api/v1/statuses"] = raise_(exc_type)

    with pytest.raises(TransientError) as caught:
        await connector.publish(FLU_TEXT, idempotency_key="k")

    assert not isinstance(caught.value, OutcomeUnknownError)
    assert isinstance(caught.value.__cause__, exc_type)
    assert "mastodon.example" in str(caught.value)


async def test_read_timeout_on_a_read_is_transient(
    connector: MastodonConnector, server: FakeMastodon
) -> None:
    server.overrides["GET", "/api/v1/accounts/verify_credentials"] = raise_(httpx.ReadTimeout)

    with pytest.raises(TransientError) as caught:
        await connector.fetch_profile()

    assert not isinstance(caught.value, OutcomeUnknownError)


async def test_html_instead_of_json_on_a_read_is_a_clear_platform_error(
    connector: MastodonConnector, server: FakeMastodon
) -> None:
    page = "<html><body><h1>Welcome to nginx!</h1></body></html>"
    server.overrides["GET", "/api/v1/accounts/verify_credentials"] = lambda request: httpx.Response(
        200, text=page, headers={"Content-Type": "text/html"}
    )

    with pytest.raises(PlatformError) as caught:
        await connector.fetch_profile()

    assert type(caught.value) is PlatformError  # permanent: not worth a retry
    assert "not JSON" in str(caught.value) and "text/html" in str(caught.value)
    assert caught.value.hint is not None and "base_url" in caught.value.hint
    assert caught.value.body == page
    assert isinstance(caught.value.__cause__, ValueError)


async def test_html_answer_to_publish_is_outcome_unknown(
    connector: MastodonConnector, server: FakeMastodon
) -> None:
    server.overrides["POST", "/api/v1/statuses"] = lambda request: httpx.Response(
        200, text="<html>ok</html>", headers={"Content-Type": "text/html"}
    )

    with pytest.raises(OutcomeUnknownError, match="not JSON"):
        await connector.publish(FLU_TEXT, idempotency_key="k")


async def test_json_of_the_wrong_shape_names_the_field(
    connector: MastodonConnector, server: FakeMastodon
) -> None:
    broken = [{**load("account_statuses_page1.json")[0], "favourites_count": "12"}]
    server.overrides["GET", STATUSES_PATH] = lambda request: answer(broken)

    with pytest.raises(PlatformError, match="'favourites_count' is missing or not an integer"):
        await collect(connector)


async def test_403_and_404_are_permanent_platform_errors(
    connector: MastodonConnector, server: FakeMastodon
) -> None:
    server.overrides["GET", "/api/v1/accounts/verify_credentials"] = fail_with(
        "Your login is currently disabled", 403
    )
    with pytest.raises(PlatformError) as forbidden:
        await connector.fetch_profile()
    server.overrides["POST", "/api/v1/statuses"] = fail_with("Record not found", 404)
    with pytest.raises(PlatformError) as missing:
        await connector.publish(FLU_TEXT, idempotency_key="k")

    assert type(forbidden.value) is PlatformError and forbidden.value.status == 403
    assert "Your login is currently disabled" in str(forbidden.value)
    assert type(missing.value) is PlatformError and missing.value.status == 404


async def test_next_link_to_another_server_is_refused(
    connector: MastodonConnector, server: FakeMastodon
) -> None:
    evil = '<https://evil.example/api/v1/accounts/1/statuses?max_id=1>; rel="next"'
    server.overrides["GET", STATUSES_PATH] = lambda request: answer(
        load("account_statuses_page1.json"), Link=evil
    )

    with pytest.raises(PlatformError, match="another server"):
        await collect(connector)

    assert {r.url.host for r in server.requests} == {"mastodon.example"}


async def test_a_next_link_back_to_the_same_page_ends_pagination(
    connector: MastodonConnector, server: FakeMastodon
) -> None:
    server.overrides["GET", STATUSES_PATH] = lambda request: answer(
        load("account_statuses_page1.json"), Link=f'<{request.url}>; rel="next"'
    )

    posts = await collect(connector)

    assert [p.remote_id for p in posts] == [FLU_ID, CLOSED_ID]
    assert server.status_pages_read() == [None]


async def test_the_token_never_appears_in_errors_repr_or_logs(
    connector: MastodonConnector, server: FakeMastodon, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    echo: Handler = lambda request: answer(  # noqa: E731 - a server that echoes the header back
        {"error": f"bad header: {request.headers['Authorization']}", "error_description": TOKEN},
        status=401,
    )
    scenarios: list[tuple[tuple[str, str], Handler]] = [
        (("GET", "/api/v1/accounts/verify_credentials"), echo),
        (("POST", "/api/v1/statuses"), fail_with(f"token {TOKEN} is not allowed", 422)),
        (("POST", "/api/v1/statuses"), raise_(httpx.ReadTimeout, f"Bearer {TOKEN} timed out")),
        (("POST", "/api/v1/statuses"), raise_(httpx.ConnectError, f"refused ({TOKEN})")),
        (
            ("POST", "/api/v1/statuses"),
            lambda request: httpx.Response(
                200, text=f"<pre>Authorization: {request.headers['Authorization']}</pre>"
            ),
        ),
    ]
    errors: list[PlatformError] = []
    for key, handler in scenarios:
        server.overrides = {key: handler}
        with pytest.raises(PlatformError) as caught:
            if key[0] == "POST":
                await connector.publish(FLU_TEXT, idempotency_key="k")
            else:
                await connector.fetch_profile()
        errors.append(caught.value)

    assert len(errors) == 5
    for error in errors:
        shown = [str(error), repr(error), error.body or "", error.hint or "", error.reason]
        assert not [text for text in shown if TOKEN in text], error
    assert "***" in (errors[0].body or "") and "***" in (errors[4].body or "")
    assert TOKEN not in repr(connector) and "***" in repr(connector)
    assert TOKEN not in caplog.text


# --- reconciliation ------------------------------------------------------------------------------


async def test_find_post_matches_a_linkified_status_despite_whitespace(
    connector: MastodonConnector,
) -> None:
    typed = "Flu season tips: wash hands,  sleep well.\nMore at https://clinic.example/flu #health "

    found = await connector.find_post(
        idempotency_key="k", text=typed, not_before=datetime(2026, 11, 20, 3, 15, 30, tzinfo=UTC)
    )

    assert found == PublishResult(
        remote_id=FLU_ID,
        url=f"{BASE_URL}/@dr_tanaka/{FLU_ID}",
        published_at=datetime(2026, 11, 20, 3, 15, 42, 123000, tzinfo=UTC),
    )


async def test_find_post_ignores_statuses_older_than_the_attempt(
    connector: MastodonConnector, server: FakeMastodon
) -> None:
    found = await connector.find_post(
        idempotency_key="k",
        text="Reminder: book your flu shot",  # posted on 2026-11-10, long before this attempt
        not_before=datetime(2026, 11, 20, 3, 0, tzinfo=UTC),
    )

    assert found is None
    assert server.status_pages_read() == [None]  # the first older status ended the search


async def test_find_post_allows_one_minute_of_clock_difference(
    connector: MastodonConnector,
) -> None:
    found = await connector.find_post(
        idempotency_key="k", text=FLU_TEXT, not_before=datetime(2026, 11, 20, 3, 16, 40, tzinfo=UTC)
    )
    too_late = await connector.find_post(
        idempotency_key="k", text=FLU_TEXT, not_before=datetime(2026, 11, 20, 3, 16, 43, tzinfo=UTC)
    )

    assert found is not None and found.remote_id == FLU_ID
    assert too_late is None


async def test_find_post_reads_at_most_two_pages(
    connector: MastodonConnector, server: FakeMastodon
) -> None:
    found = await connector.find_post(
        idempotency_key="k", text="never posted", not_before=datetime(2020, 1, 1, tzinfo=UTC)
    )

    assert found is None
    assert server.status_pages_read() == [None, CLOSED_ID]


def test_comparable_text_drops_the_domain_of_mentions() -> None:
    assert comparable_text("Q&A with @nurse_sato@other.example\n at 20:00") == (
        "Q&A with @nurse_sato at 20:00"
    )
    assert comparable_text("mail me: a@b.example") == "mail me: a@b.example"


# --- html_to_text ---------------------------------------------------------------------------------


def test_html_to_text_on_the_documented_example() -> None:
    content = (
        "<p>&quot;I lost my inheritance with one wrong digit on my sort code&quot;</p>"
        '<p><a href="https://www.theguardian.com/money/2019/dec/07/i-lost-my" rel="nofollow">'
        '<span class="invisible">https://www.</span><span class="ellipsis">theguardian.com/'
        'money/2019/dec</span><span class="invisible">/07/i-lost-my</span></a></p>'
    )

    assert html_to_text(content) == (
        '"I lost my inheritance with one wrong digit on my sort code"\n\n'
        "https://www.theguardian.com/money/2019/dec/07/i-lost-my"
    )


def test_html_to_text_drops_script_and_keeps_line_breaks() -> None:
    assert html_to_text("<p>a<br>b<br/>c</p><script>alert(1)</script><p>d &amp; e</p>") == (
        "a\nb\nc\n\nd & e"
    )


_TAG_NAMES = st.sampled_from(["p", "span", "a", "br", "div", "strong", "em", "ul", "li", "b"])
_TAGS = st.one_of(
    _TAG_NAMES.map(lambda name: f"<{name}>"),
    _TAG_NAMES.map(lambda name: f"</{name}>"),
    _TAG_NAMES.map(lambda name: f"<{name} />"),
    _TAG_NAMES.map(lambda name: f'<{name} class="h-card" href="https://x.example/?a=1&amp;b=2">'),
)


@given(st.text())
def test_html_to_text_never_raises(text: str) -> None:
    assert isinstance(html_to_text(text), str)


@given(st.lists(st.one_of(_TAGS, st.text(alphabet="<>&/;#x= \"'abc"))).map("".join))
def test_html_to_text_never_raises_on_tag_soup(soup: str) -> None:
    assert isinstance(html_to_text(soup), str)


@given(st.lists(_TAGS).map("".join))
def test_html_to_text_of_tags_alone_is_empty(markup: str) -> None:
    assert html_to_text(markup) == ""


@given(st.text())
def test_html_to_text_undoes_escaping(text: str) -> None:
    assert html_to_text(html.escape(text)) == text.strip()


# --- shared HTTP helpers: Link, datetimes, redaction ---------------------------------------------


def test_parse_link_header_on_the_documented_example() -> None:
    header = (
        "<https://mastodon.example/api/v1/accounts/14715/followers?limit=2&max_id=7486869>; "
        'rel="next", '
        "<https://mastodon.example/api/v1/accounts/14715/followers?limit=2&since_id=7489740>; "
        'rel="prev"'
    )

    assert parse_link_header(header) == {
        "next": "https://mastodon.example/api/v1/accounts/14715/followers?limit=2&max_id=7486869",
        "prev": "https://mastodon.example/api/v1/accounts/14715/followers?limit=2&since_id=7489740",
    }


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("", {}),
        ("garbage", {}),
        ("<https://a.example/1>", {}),
        ("<https://a.example/1>; rel=next", {"next": "https://a.example/1"}),
        (
            '<https://a.example/1>; REL="Next Last"',
            {"next": "https://a.example/1", "last": "https://a.example/1"},
        ),
        (
            '<https://a.example/a,b;c>; title="x, y; z"; rel="next"',
            {"next": "https://a.example/a,b;c"},
        ),
        ('<https://a.example/1>; rel="next"; rel="prev"', {"next": "https://a.example/1"}),
        (
            '<https://a.example/1>; rel="next", <https://a.example/2>; rel="next"',
            {"next": "https://a.example/1"},
        ),
        ('<https://a.example/1>; title="say \\"hi\\""; rel=prev', {"prev": "https://a.example/1"}),
        ("<https://a.example/1; rel=next", {}),
    ],
)
def test_parse_link_header_edge_cases(header: str, expected: dict[str, str]) -> None:
    assert parse_link_header(header) == expected


def test_next_link_resolves_relative_links_and_refuses_other_servers() -> None:
    request = httpx.Request("GET", f"{BASE_URL}{STATUSES_PATH}?limit=40")

    def page(link: str) -> httpx.Response:
        return httpx.Response(200, headers={"Link": link}, request=request)

    assert next_link(page('<?max_id=5>; rel="next"'), platform="mastodon") == httpx.URL(
        f"{BASE_URL}{STATUSES_PATH}?max_id=5"
    )
    assert next_link(page('<?min_id=9>; rel="prev"'), platform="mastodon") is None
    for elsewhere in (
        "//evil.example/x",
        "http://mastodon.example/x",
        "https://mastodon.example:8443/",
    ):
        with pytest.raises(PlatformError, match="another server"):
            next_link(page(f'<{elsewhere}>; rel="next"'), platform="mastodon")
    with pytest.raises(PlatformError, match="not a valid URL"):
        next_link(page('<https://[::1>; rel="next"'), platform="mastodon")


_URLS = st.from_regex(r"https://[a-z]{1,8}\.example/[A-Za-z0-9/_?=&;,.%-]{0,30}", fullmatch=True)
_RELS = st.from_regex(r"[a-z][a-z0-9.-]{0,10}", fullmatch=True)


@given(st.dictionaries(_RELS, _URLS, max_size=5), st.booleans())
def test_parse_link_header_round_trips(links: dict[str, str], quoted: bool) -> None:
    rel = '"{}"' if quoted else "{}"
    header = ", ".join(f"<{url}>; rel={rel.format(name)}" for name, url in links.items())

    assert parse_link_header(header) == links


@given(st.text())
def test_parse_link_header_never_raises(header: str) -> None:
    assert all(isinstance(v, str) for v in parse_link_header(header).values())


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-20T03:15:42.123Z", datetime(2026, 11, 20, 3, 15, 42, 123000, tzinfo=UTC)),
        (RESET, RESET_AT),
        ("2026-11-20T12:15:42+09:00", datetime(2026, 11, 20, 3, 15, 42, tzinfo=UTC)),
        ("2026-11-20T03:15:42.123456789z", datetime(2026, 11, 20, 3, 15, 42, 123456, tzinfo=UTC)),
        ("2026-11-20T03:15:42", datetime(2026, 11, 20, 3, 15, 42, tzinfo=UTC)),
        ("not a date", None),
        ("", None),
        ("2026-13-01T00:00:00Z", None),
        ("0001-01-01T00:00:00+01:00", None),
        (None, None),
        (1732072542, None),
    ],
)
def test_parse_iso8601(text: object, expected: datetime | None) -> None:
    parsed = parse_iso8601(text)

    assert parsed == expected
    assert parsed is None or parsed.tzinfo is UTC


_OFFSETS = st.sampled_from(
    [UTC, timezone(timedelta(hours=9)), timezone(-timedelta(hours=5, minutes=30))]
)


@given(
    st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2200, 1, 1), timezones=_OFFSETS)
)
def test_parse_iso8601_round_trips(moment: datetime) -> None:
    parsed = parse_iso8601(moment.isoformat().replace("+00:00", "Z"))

    assert parsed == moment and parsed is not None and parsed.tzinfo is UTC


@given(st.text())
def test_parse_iso8601_never_raises(text: str) -> None:
    parsed = parse_iso8601(text)
    assert parsed is None or parsed.tzinfo is UTC


def test_parse_retry_after_accepts_seconds_and_http_dates() -> None:
    now = datetime(2026, 11, 20, 3, 0, tzinfo=UTC)

    assert parse_retry_after("90", now=now) == now + timedelta(seconds=90)
    assert parse_retry_after("Fri, 20 Nov 2026 03:05:00 GMT", now=now) == datetime(
        2026, 11, 20, 3, 5, tzinfo=UTC
    )
    assert parse_retry_after("soon", now=now) is None
    assert parse_retry_after(None, now=now) is None


def test_redact_hides_secrets_and_bearer_tokens() -> None:
    assert redact(f"a{TOKEN}b", [TOKEN]) == "a***b"
    assert redact("Authorization: Bearer abc.def-123\n", []) == "Authorization: Bearer ***\n"
    assert redact("GET /stream?access_token=xyz&x=1", []) == "GET /stream?access_token=***&x=1"
    assert redact("nothing to hide", ["", TOKEN]) == "nothing to hide"


def test_error_body_is_redacted_before_it_is_shortened() -> None:
    response = httpx.Response(500, text="a" * 490 + TOKEN + "b" * 100)

    body = error_body(response, [TOKEN])

    assert len(body) <= 500
    assert body.startswith("a" * 490 + "***")
    assert "tok-" not in body

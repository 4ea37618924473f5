"""The sandbox: Mastodon-shaped API, seeded simulation, faults, limits and the server guard."""

from __future__ import annotations

import asyncio
import html
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from statistics import mean
from typing import Any

import httpx
import pytest
import uvicorn
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from brandkit.clock import SimulatedClock
from brandkit.platforms.sandbox import SandboxConfig, Simulation, create_app
from brandkit.platforms.sandbox.server import ensure_loopback, parse_rate_limit, serve

START = datetime(2025, 1, 5, 15, 0, tzinfo=UTC)  # Monday 2025-01-06 00:00 in Tokyo
BASE = "http://sandbox.localhost"
ALICE = {"Authorization": "Bearer sandbox-alice"}
ISO_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
STATUS_FIELDS = {
    "id", "created_at", "in_reply_to_id", "in_reply_to_account_id", "sensitive", "spoiler_text",
    "visibility", "language", "uri", "url", "replies_count", "reblogs_count", "favourites_count",
    "quotes_count", "edited_at", "favourited", "reblogged", "muted", "bookmarked", "content",
    "reblog", "application", "account", "media_attachments", "mentions", "tags", "emojis", "card",
    "poll",
}  # fmt: skip
ACCOUNT_FIELDS = {
    "id", "username", "acct", "display_name", "locked", "bot", "discoverable", "group",
    "created_at", "note", "url", "avatar", "avatar_static", "header", "header_static",
    "followers_count", "following_count", "statuses_count", "last_status_at", "emojis", "fields",
}  # fmt: skip


def tokyo(day: int, hour: int, minute: int = 0) -> datetime:
    """``day`` days after the start, at ``hour:minute`` Tokyo time."""
    return START + timedelta(days=day, hours=hour, minutes=minute)


def content_text(content: str) -> str:
    """Invert the sandbox's HTML rendering: paragraphs and breaks back to newlines, unescape."""
    assert content.startswith("<p>") and content.endswith("</p>")
    inner = content[3:-4].replace("</p><p>", "\n\n").replace("<br />", "\n")
    return html.unescape(re.sub(r"<[^>]+>", "", inner))


@dataclass
class Sandbox:
    client: httpx.AsyncClient
    clock: SimulatedClock
    sim: Simulation

    async def post(self, text: str, *, token: str = "sandbox-alice", **kw: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}", **kw.pop("headers", {})}
        return await self.client.post(
            "/api/v1/statuses", data={"status": text, **kw}, headers=headers
        )

    async def me(self, token: str = "sandbox-alice") -> dict[str, Any]:
        response = await self.client.get(
            "/api/v1/accounts/verify_credentials", headers={"Authorization": f"Bearer {token}"}
        )
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result

    async def all_statuses(self, account_id: str, **params: Any) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        url: str | None = f"/api/v1/accounts/{account_id}/statuses"
        query: dict[str, Any] | None = {"limit": 40, **params}
        while url:
            response = await self.client.get(url, params=query, headers=ALICE)
            assert response.status_code == 200, response.text
            found.extend(response.json())
            url, query = response.links.get("next", {}).get("url"), None
        return found


@asynccontextmanager
async def sandbox(config: SandboxConfig | None = None) -> AsyncIterator[Sandbox]:
    clock = SimulatedClock(START)
    app = create_app(clock=clock, config=config)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=BASE) as client:
        yield Sandbox(client, clock, app.state.simulation)


# -- the API's shapes ---------------------------------------------------------------------


async def test_post_and_read_back_in_mastodon_shapes() -> None:
    async with sandbox() as box:
        box.clock.set(tokyo(0, 20))
        text = "勉強会のお知らせ。詳細は https://example.com/events?id=1&x=2 まで！\n#医療 #勉強会"
        created = await box.post(text, language="ja")
        assert created.status_code == 200
        status = created.json()
        assert STATUS_FIELDS <= status.keys()
        assert ACCOUNT_FIELDS <= status["account"].keys()
        assert ISO_MS.match(status["created_at"]) and status["created_at"].startswith("2025-01-06")
        assert content_text(status["content"]) == text
        assert '<a href="https://example.com/events?id=1&amp;x=2"' in status["content"]
        assert 'class="mention hashtag" rel="tag">#<span>医療</span></a>' in status["content"]
        assert "<br />" in status["content"]
        assert [tag["name"] for tag in status["tags"]] == ["医療", "勉強会"]
        assert status["url"] == f"{BASE}/@alice/{status['id']}"
        assert status["favourites_count"] == 0 and status["reblog"] is None

        box.clock.advance(timedelta(hours=48))
        fetched = (await box.client.get(f"/api/v1/statuses/{status['id']}", headers=ALICE)).json()
        assert fetched["id"] == status["id"]
        assert fetched["favourites_count"] > 0  # engagement accrued while the clock moved

        me = await box.me()
        assert me["statuses_count"] == 1 and me["last_status_at"] == "2025-01-06"
        assert {"privacy", "sensitive", "language", "note", "fields"} <= me["source"].keys()
        account = (await box.client.get(f"/api/v1/accounts/{me['id']}", headers=ALICE)).json()
        assert "source" not in account and account["followers_count"] == me["followers_count"]
        listed = await box.all_statuses(me["id"], exclude_reblogs="true")
        assert [item["id"] for item in listed] == [status["id"]]


async def test_instance_reports_status_limits() -> None:
    async with sandbox(SandboxConfig(max_characters=400)) as box:
        instance = (await box.client.get("/api/v2/instance")).json()
        statuses = instance["configuration"]["statuses"]
        assert statuses["max_characters"] == 400 and statuses["characters_reserved_per_url"] == 23
        assert instance["domain"] == "sandbox.localhost"


async def test_idempotency_key_returns_the_same_status_for_an_hour() -> None:
    async with sandbox() as box:
        key = {"Idempotency-Key": "variant-42"}
        first = (await box.post("hello", headers=key)).json()
        box.clock.advance(timedelta(minutes=59))
        again = (await box.post("hello, edited", headers=key)).json()
        assert again["id"] == first["id"] and len(box.sim.statuses("alice")) == 1
        other = (await box.post("hello", token="sandbox-bob", headers=key)).json()
        assert other["id"] != first["id"]
        box.clock.advance(timedelta(minutes=2))
        later = (await box.post("hello", headers=key)).json()
        assert later["id"] != first["id"] and len(box.sim.statuses("alice")) == 2


async def test_pagination_follows_link_headers_to_the_end() -> None:
    async with sandbox() as box:
        for n in range(45):
            box.clock.advance(timedelta(minutes=30))
            assert (await box.post(f"post {n}")).status_code == 200
        me = await box.me()
        first = await box.client.get(f"/api/v1/accounts/{me['id']}/statuses", headers=ALICE)
        assert len(first.json()) == 20  # default limit
        assert first.links["next"]["url"].startswith(f"{BASE}/api/v1/accounts/{me['id']}/")
        assert "max_id=" in first.links["next"]["url"] and "min_id=" in first.links["prev"]["url"]

        everything = await box.all_statuses(me["id"], limit=100)  # clamped to 40 a page
        assert [content_text(s["content"]) for s in everything] == [
            f"post {n}" for n in reversed(range(45))
        ]
        last = await box.client.get(
            f"/api/v1/accounts/{me['id']}/statuses",
            params={"max_id": everything[39]["id"], "limit": 40},
            headers=ALICE,
        )
        assert len(last.json()) == 5 and "next" not in last.links

        newest = everything[0]["id"]
        box.clock.advance(timedelta(minutes=5))
        await box.post("post 45")
        await box.post("post 46")
        prev = await box.client.get(first.links["prev"]["url"], headers=ALICE)
        assert [content_text(s["content"]) for s in prev.json()] == ["post 46", "post 45"]
        since = await box.client.get(
            f"/api/v1/accounts/{me['id']}/statuses",
            params={"since_id": newest, "limit": 1},
            headers=ALICE,
        )
        assert [content_text(s["content"]) for s in since.json()] == ["post 46"]
        empty = await box.client.get(
            f"/api/v1/accounts/{me['id']}/statuses", params={"min_id": "9" * 19}, headers=ALICE
        )
        assert empty.json() == [] and "link" not in empty.headers


async def test_any_other_token_is_a_stable_hashed_account_and_private_posts_stay_private() -> None:
    async with sandbox() as box:
        first = await box.me("abc123")
        assert first["username"].startswith("user_") and (await box.me("abc123")) == first
        private = (await box.post("only me", visibility="private")).json()
        bob = {"Authorization": "Bearer sandbox-bob"}
        hidden = await box.client.get(f"/api/v1/statuses/{private['id']}", headers=bob)
        assert hidden.status_code == 404
        alice_id = private["account"]["id"]
        listed = await box.client.get(f"/api/v1/accounts/{alice_id}/statuses", headers=bob)
        assert listed.json() == []
        own = await box.client.get(f"/api/v1/statuses/{private['id']}", headers=ALICE)
        assert own.json()["visibility"] == "private"


def test_create_app_refuses_a_config_that_contradicts_the_simulation() -> None:
    clock = SimulatedClock(START)
    shared = Simulation(SandboxConfig(seed=1), epoch=START)
    assert create_app(clock=clock, simulation=shared).state.simulation is shared
    with pytest.raises(ValueError, match="config differs"):
        create_app(clock=clock, config=SandboxConfig(seed=2), simulation=shared)
    with pytest.raises(ValueError, match="time zone"):
        SandboxConfig(timezone="Mars/Olympus")


# -- errors -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer revoked-alice"},
        {"Authorization": "Bearer "},
        {"Authorization": "Basic sandbox-alice"},
    ],
)
async def test_missing_or_revoked_tokens_get_401(headers: dict[str, str]) -> None:
    async with sandbox() as box:
        for method, path in [
            ("GET", "/api/v1/accounts/verify_credentials"),
            ("POST", "/api/v1/statuses"),
        ]:
            response = await box.client.request(method, path, headers=headers, data={"status": "x"})
            assert response.status_code == 401
            assert response.json() == {"error": "The access token is invalid"}
            assert "X-RateLimit-Remaining" in response.headers
        assert box.sim.statuses("alice") == []


async def test_validation_errors_are_422_with_mastodons_messages() -> None:
    async with sandbox() as box:
        blank = "Validation failed: Text can't be blank"
        too_long = "Validation failed: Text character limit of 500 exceeded"
        for data in [{}, {"status": ""}, {"status": " \n\t "}]:
            response = await box.client.post("/api/v1/statuses", data=data, headers=ALICE)
            assert (response.status_code, response.json()) == (422, {"error": blank})
        assert (await box.post("あ" * 501)).json() == {"error": too_long}
        url = "https://example.com/" + "x" * 80
        assert (await box.post("a" * 480 + " " + url)).status_code == 422  # 480 + 1 + 23
        assert (await box.post("a" * 470 + " " + url)).status_code == 200  # 494 counted
        assert (await box.post("a" * 500)).status_code == 200
        bad = await box.post("hi", visibility="everyone")
        assert bad.status_code == 422 and "visibility" in bad.json()["error"]
        missing = await box.post("reply", in_reply_to_id="12345")
        assert missing.status_code == 404


async def test_unknown_routes_and_malformed_input_never_500() -> None:
    async with sandbox() as box:
        for method, path in [
            ("GET", "/api/v1/nope"),
            ("DELETE", "/api/v1/statuses"),
            ("GET", "/api/v1/statuses/abc"),
            ("GET", "/api/v1/statuses/99999999999999999999999"),
            ("GET", "/api/v1/accounts/123/statuses"),
        ]:
            response = await box.client.request(method, path, headers=ALICE)
            assert (response.status_code, response.json()) == (404, {"error": "Record not found"})
            assert "X-RateLimit-Limit" in response.headers
        json_headers = {**ALICE, "Content-Type": "application/json"}
        for body in [b"{not json", b"[" * 100_000, b"\xff\xfe"]:
            response = await box.client.post("/api/v1/statuses", content=body, headers=json_headers)
            assert response.status_code == 400
        form = await box.client.post(
            "/api/v1/statuses",
            content=b"status=%FF\xff",
            headers={**ALICE, "Content-Type": "application/x-www-form-urlencoded"},
        )
        assert form.status_code == 400
        for body in [b"[1, 2]", b'{"status": null}', b'{"status": ["x"]}']:
            response = await box.client.post("/api/v1/statuses", content=body, headers=json_headers)
            assert response.status_code == 422
        as_json = await box.client.post(
            "/api/v1/statuses", json={"status": "via JSON", "sensitive": True}, headers=ALICE
        )
        assert as_json.status_code == 200 and as_json.json()["sensitive"] is True
        multipart = await box.client.post(
            "/api/v1/statuses",
            data={"status": "via multipart"},
            files={"ignored": ("a.txt", b"x")},
            headers=ALICE,
        )
        assert content_text(multipart.json()["content"]) == "via multipart"


FRAGMENTS = st.sampled_from(
    ["https://example.com/a?b=1&c=2", "(https://x.jp/y).", "http://", "#タグ", "#tag_1", "#1",
     "\r\n", "\n\n\n", "\r", "<b>&amp;</b>", "'\"", " ", "。", "👩‍⚕️", "🇯🇵"]
)  # fmt: skip


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    text=st.one_of(st.text(), st.lists(st.one_of(st.text(max_size=8), FRAGMENTS)).map("".join)),
    as_json=st.booleans(),
)
def test_arbitrary_text_is_reflected_or_refused_never_500(text: str, as_json: bool) -> None:
    async def attempt() -> None:
        async with sandbox() as box:
            if as_json:
                response = await box.client.post(
                    "/api/v1/statuses", json={"status": text}, headers=ALICE
                )
            else:
                response = await box.post(text)
            if response.status_code == 422:
                assert response.json()["error"].startswith("Validation failed: Text")
                return
            assert response.status_code == 200, response.text
            expected = text.replace("\r\n", "\n").replace("\r", "\n")
            assert content_text(response.json()["content"]) == expected

    asyncio.run(attempt())


# -- rate limits --------------------------------------------------------------------------


async def test_rate_limit_answers_429_until_the_window_resets() -> None:
    async with sandbox(SandboxConfig(rate_limit=(3, 60.0))) as box:
        for remaining in (2, 1, 0):
            response = await box.client.get("/api/v1/accounts/verify_credentials", headers=ALICE)
            assert response.status_code == 200
            assert response.headers["X-RateLimit-Limit"] == "3"
            assert response.headers["X-RateLimit-Remaining"] == str(remaining)
        limited = await box.client.get("/api/v1/accounts/verify_credentials", headers=ALICE)
        assert (limited.status_code, limited.json()) == (429, {"error": "Too many requests"})
        assert limited.headers["X-RateLimit-Remaining"] == "0"
        reset = datetime.fromisoformat(limited.headers["X-RateLimit-Reset"])
        assert reset == START + timedelta(seconds=60)
        other = await box.client.get("/api/v1/accounts/verify_credentials", headers={
            "Authorization": "Bearer sandbox-bob"
        })  # fmt: skip
        assert other.status_code == 200  # limits are per token

        box.clock.set(reset)
        recovered = await box.client.get("/api/v1/accounts/verify_credentials", headers=ALICE)
        assert recovered.status_code == 200
        assert recovered.headers["X-RateLimit-Remaining"] == "2"


async def test_without_a_limit_the_default_is_reported_but_never_enforced() -> None:
    async with sandbox() as box:
        for _ in range(305):
            response = await box.client.get("/api/v2/instance", headers=ALICE)
            assert response.status_code == 200
        assert response.headers["X-RateLimit-Limit"] == "300"
        assert response.headers["X-RateLimit-Remaining"] == "0"


# -- the simulation -----------------------------------------------------------------------

SCHEDULE = [  # (day, hour, minute, text): irregular on purpose, with a burst and a silence
    (day, hour, minute, f"Day {day} at {hour}:{minute:02d}. Short tip. #health #day{day % 3}")
    for day in (0, 1, 2, 3, 5, 6, 12, 13)
    for hour, minute in ((7, 30), (12, 5), (20, 0), (21, 45))[: 1 + day % 4]
]


async def test_same_seed_and_posts_give_identical_numbers_however_often_polled() -> None:
    results = []
    for poll_hourly in (True, False):
        async with sandbox(SandboxConfig(seed=11)) as box:
            for day, hour, minute, text in SCHEDULE:
                while poll_hourly and box.clock.now() + timedelta(hours=1) < tokyo(
                    day, hour, minute
                ):
                    box.clock.advance(timedelta(hours=1))
                    me = await box.me()
                    await box.all_statuses(me["id"])
                box.clock.set(tokyo(day, hour, minute))
                assert (await box.post(text)).status_code == 200
            box.clock.set(tokyo(16, 9))
            me = await box.me()
            statuses = await box.all_statuses(me["id"])
            numbers = [
                (s["id"], s["favourites_count"], s["reblogs_count"], s["replies_count"])
                for s in statuses
            ]
            results.append((me["followers_count"], numbers))
    assert results[0] == results[1]
    assert len(results[0][1]) == len(SCHEDULE)


async def test_evening_posts_of_good_length_beat_small_hours_walls_of_hashtags() -> None:
    good = (
        "Quick tip on hay fever. Start your medicine early. Ask us if it makes you sleepy. "
        "Short walks help too. Rinse your eyes after going out. See you soon!"
    )[:133] + " #allergy #health"
    bad = (
        "Today I would like to explain in considerable detail the many revisions that were "
        "made to the guideline, which covers a great number of topics including elderly care "
        "and drug selection and comorbidities and monitoring and follow-up schedules, "
    ) * 2
    bad = bad[:440] + " #a #b #c #d #e #f #g #h"
    assert len(good) == 150 and len(bad) == 464
    async with sandbox(SandboxConfig(seed=3)) as box:
        for day in range(40):
            box.clock.set(tokyo(day, 3))
            assert (await box.post(bad)).status_code == 200
            box.clock.set(tokyo(day, 20))
            assert (await box.post(good)).status_code == 200
        box.clock.set(tokyo(43, 0))
        me = await box.me()
        statuses = await box.all_statuses(me["id"])
    evening = [s for s in statuses if s["created_at"].endswith("T11:00:00.000Z")]
    night = [s for s in statuses if s["created_at"].endswith("T18:00:00.000Z")]
    assert len(evening) == len(night) == 40
    for field in ("favourites_count", "reblogs_count"):
        good_mean = mean(s[field] for s in evening)
        bad_mean = mean(s[field] for s in night)
        assert good_mean > 3 * bad_mean, (field, good_mean, bad_mean)


async def test_followers_grow_over_twelve_weeks_of_daily_posts_and_less_in_silence() -> None:
    growth = []
    for posting in (True, False):
        async with sandbox(SandboxConfig(seed=5)) as box:
            initial = (await box.me())["followers_count"]
            for day in range(84):
                box.clock.set(tokyo(day, 20))
                if posting:
                    text = f"Day {day}: a short, useful note for patients. #health #clinic"
                    assert (await box.post(text)).status_code == 200
            box.clock.set(tokyo(84, 0))
            growth.append((await box.me())["followers_count"] - initial)
            assert box.sim.followers_at("alice", tokyo(84, 0)) == initial + growth[-1]
    with_posts, silent = growth
    assert with_posts > 0.2 * initial  # a clearly visible trend over the quarter
    assert with_posts > 3 * max(silent, 1)


async def test_concurrent_posts_get_unique_ids_and_one_status_per_key() -> None:
    async with sandbox() as box:
        responses = await asyncio.gather(*(box.post(f"post {n}") for n in range(100)))
        assert len({r.json()["id"] for r in responses}) == 100
        same_key = {"Idempotency-Key": "once"}
        replays = await asyncio.gather(*(box.post("once", headers=same_key) for _ in range(20)))
        assert len({r.json()["id"] for r in replays}) == 1
        assert (await box.me())["statuses_count"] == 101


# -- faults -------------------------------------------------------------------------------


async def test_error_503_creates_nothing() -> None:
    async with sandbox() as box:
        box.sim.inject_fault("error_503")
        failed = await box.post("hello", headers={"Idempotency-Key": "k"})
        assert (failed.status_code, failed.json()) == (503, {"error": "Service Unavailable"})
        assert box.sim.statuses("alice") == []
        assert (await box.post("hello", headers={"Idempotency-Key": "k"})).status_code == 200


async def test_commit_then_502_creates_the_status_and_a_retry_with_the_key_finds_it() -> None:
    async with sandbox() as box:
        box.sim.inject_fault("commit_then_502")
        failed = await box.post("hello", headers={"Idempotency-Key": "k"})
        assert failed.status_code == 502 and "Bad Gateway" in failed.text
        assert [s.text for s in box.sim.statuses("alice")] == ["hello"]
        retried = await box.post("hello", headers={"Idempotency-Key": "k"})
        assert retried.status_code == 200
        assert retried.json()["id"] == str(box.sim.statuses("alice")[0].id)
        assert len(box.sim.statuses("alice")) == 1


async def test_error_500_counts_down_and_unknown_faults_are_refused() -> None:
    async with sandbox() as box:
        box.sim.inject_fault("error_500", count=2)
        assert [(await box.post("x")).status_code for _ in range(3)] == [500, 500, 200]
        assert box.sim.pending_faults == []
        with pytest.raises(ValueError, match="unknown fault"):
            box.sim.inject_fault("explode")  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="at least 1"):
            box.sim.inject_fault("error_503", count=0)


# -- the server guard ---------------------------------------------------------------------


@pytest.mark.parametrize("value", ["300/300", " 10 / 0.5 ", "1/1e3"])
def test_parse_rate_limit_accepts_n_per_seconds(value: str) -> None:
    requests, seconds = parse_rate_limit(value)
    assert requests >= 1 and seconds > 0


@pytest.mark.parametrize("value", ["", "300", "0/60", "-1/60", "10/0", "x/60", "10/inf", "1.5/3"])
def test_parse_rate_limit_names_the_bad_value(value: str) -> None:
    with pytest.raises(ValueError, match=re.escape(repr(value))):
        parse_rate_limit(value)


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.10", "example.com", "::", "10.0.0.1"])
def test_serve_refuses_non_loopback_hosts(host: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(uvicorn, "run", pytest.fail)
    with pytest.raises(ValueError, match="loopback"):
        serve(host=host, port=8765, config=SandboxConfig())


@pytest.mark.parametrize("host", ["127.0.0.1", "127.9.9.9", "::1", "[::1]", "localhost"])
def test_serve_runs_uvicorn_on_loopback(host: str, monkeypatch: pytest.MonkeyPatch) -> None:
    ensure_loopback(host)
    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: calls.append(kw))
    serve(host=host, port=8765, config=SandboxConfig(latency_ms=5))
    assert calls[0]["host"] == host.strip("[]") and calls[0]["port"] == 8765

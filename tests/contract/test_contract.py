"""One contract, every connector: the behaviour brandkit relies on, whatever the platform.

Each platform's fake (``tests/contract/fakes/<platform>.py``) answers with payloads shaped like
that platform's documentation; the tests below are the same for all of them: publish, profile,
post metrics to the last page, a 429 with a reset time, a 401, an expired token, a 5xx followed
by success, a malformed body — and no token in any error or log line.
"""

from __future__ import annotations

import importlib
import logging
import pkgutil
from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest

from brandkit.clock import SimulatedClock
from brandkit.errors import (
    AuthExpiredError,
    OutcomeUnknownError,
    PlatformError,
    RateLimitedError,
    RejectedError,
)
from brandkit.platforms.api import ConnectorContext, RateLimitBook, RetryPolicy
from brandkit.platforms.base import Connector, PublishResult, create_connector
from tests.connector_support import MemoryStore
from tests.contract import fakes
from tests.contract.fake import START, FakePlatform


def _discover() -> list[type[FakePlatform]]:
    found: list[type[FakePlatform]] = []
    for info in pkgutil.iter_modules(fakes.__path__):
        module = importlib.import_module(f"{fakes.__name__}.{info.name}")
        fake = getattr(module, "FAKE", None)
        if fake is not None:
            found.append(fake)
    return sorted(found, key=lambda f: f.platform)


FAKES = _discover()
IMAGE = "https://clinic.example/images/flu-2026.jpg"


@pytest.fixture(params=FAKES, ids=[f.platform for f in FAKES])
def fake(request: pytest.FixtureRequest) -> FakePlatform:
    cls: type[FakePlatform] = request.param
    return cls(SimulatedClock(START))


class Harness:
    def __init__(self, fake: FakePlatform, client: httpx.AsyncClient) -> None:
        self.fake = fake
        self.client = client
        self.store: MemoryStore | None = None

    def connector(self, *, expired: bool = False, retry: RetryPolicy | None = None) -> Connector:
        credentials = self.fake.credentials(expired=expired)
        self.store = MemoryStore(credentials)
        return create_connector(
            self.fake.platform,
            client=self.client,
            base_url=self.fake.base_url,
            credentials=credentials,
            context=ConnectorContext(
                clock=self.fake.clock,
                limits=RateLimitBook(),
                retry=retry or RetryPolicy(attempts=3, base_delay=1.0, max_wait=60.0),
                account_key=f"contract:{self.fake.platform}",
                store=self.store,
            ),
        )

    async def publish(self, connector: Connector, text: str, key: str = "key-1") -> PublishResult:
        image = IMAGE if self.fake.needs_image else None
        return await connector.publish(text, idempotency_key=key, image_url=image)


@pytest.fixture
async def harness(fake: FakePlatform) -> AsyncIterator[Harness]:
    async with httpx.AsyncClient(transport=fake.transport()) as client:
        yield Harness(fake, client)


def publishing(fake: FakePlatform) -> None:
    if not fake.can_publish:
        pytest.skip(f"{fake.platform} has no API to publish a post")


TEXT = "Flu season: wash your hands and get vaccinated. https://clinic.example/flu #health"


# --- the happy paths --------------------------------------------------------------------------


async def test_connector_satisfies_the_protocol(harness: Harness) -> None:
    connector = harness.connector()
    assert isinstance(connector, Connector)
    assert connector.platform == harness.fake.platform
    assert harness.fake.TOKEN not in repr(connector)


async def test_publish_creates_exactly_one_post_that_find_post_finds(harness: Harness) -> None:
    publishing(harness.fake)
    connector = harness.connector()
    before = len(harness.fake.posts)

    result = await harness.publish(connector, TEXT)

    assert len(harness.fake.posts) == before + 1
    post = harness.fake.posts[-1]
    assert result.remote_id == post.remote_id
    found = await connector.find_post(
        idempotency_key="key-1",
        text=TEXT,
        not_before=harness.fake.clock.now() - timedelta(minutes=5),
    )
    assert found is not None and found.remote_id == post.remote_id


async def test_a_platform_that_cannot_publish_says_why(harness: Harness) -> None:
    if harness.fake.can_publish:
        pytest.skip(f"{harness.fake.platform} publishes")
    connector = harness.connector()
    with pytest.raises(RejectedError) as caught:
        await connector.publish(TEXT, idempotency_key="k")
    assert caught.value.hint
    assert not harness.fake.requests_to("publish")


async def test_profile_reports_the_follower_count(harness: Harness) -> None:
    harness.fake.followers = 4321
    profile = await harness.connector().fetch_profile()
    assert profile.followers == 4321
    assert profile.remote_id


async def test_post_metrics_follow_pagination_to_the_end(harness: Harness) -> None:
    fake = harness.fake
    fake.seed_posts(fake.page_size * 2 + fake.page_size // 2)

    stats = [s async for s in harness.connector().fetch_post_metrics()]

    assert [s.remote_id for s in stats] == [p.remote_id for p in reversed(fake.posts)]
    by_id = {p.remote_id: p for p in fake.posts}
    for s in stats:
        post = by_id[s.remote_id]
        assert s.created_at == post.created_at
        if s.likes is not None:
            assert s.likes == post.likes
    assert any(s.likes for s in stats), "no counter was read"
    assert len(fake.requests_to("metrics")) >= 3


async def test_post_metrics_since_stop_at_the_cutoff(harness: Harness) -> None:
    fake = harness.fake
    posts = fake.seed_posts(fake.page_size * 3)
    cutoff = posts[-5].created_at

    stats = [s async for s in harness.connector().fetch_post_metrics(since=cutoff)]

    assert [s.remote_id for s in stats] == [p.remote_id for p in reversed(posts[-5:])]


# --- failures ---------------------------------------------------------------------------------


async def test_429_with_a_far_reset_raises_with_the_reset_time(harness: Harness) -> None:
    fake = harness.fake
    reset = fake.clock.now() + timedelta(minutes=15)
    fake.fail_next("profile", lambda r: fake.rate_limited(reset), times=5)

    with pytest.raises(RateLimitedError) as caught:
        await harness.connector().fetch_profile()

    assert caught.value.reset_at is not None
    assert abs((caught.value.reset_at - reset).total_seconds()) <= 1
    assert len(fake.requests_to("profile")) == 1, "a far reset is not hammered"


async def test_429_with_a_near_reset_waits_then_succeeds(harness: Harness) -> None:
    fake = harness.fake
    reset = fake.clock.now() + timedelta(seconds=20)
    fake.fail_next("profile", lambda r: fake.rate_limited(reset))
    started = fake.clock.now()

    profile = await harness.connector().fetch_profile()

    assert profile.followers == fake.followers
    assert fake.clock.now() >= reset, "the retry came before the reset"
    assert fake.clock.now() - started < timedelta(seconds=60)


async def test_401_is_auth_expired_without_the_token(harness: Harness) -> None:
    fake = harness.fake
    fake.valid_tokens.clear()  # revoked: even a refresh cannot help

    with pytest.raises(AuthExpiredError) as caught:
        await harness.connector().fetch_profile()

    assert fake.TOKEN not in str(caught.value) and fake.TOKEN not in (caught.value.body or "")
    assert caught.value.hint


async def test_an_expired_token_is_renewed_and_saved(harness: Harness) -> None:
    fake = harness.fake
    if not fake.refreshable:
        pytest.skip(f"{fake.platform} tokens cannot be renewed without the user")
    connector = harness.connector(expired=True)

    profile = await connector.fetch_profile()

    assert profile.followers == fake.followers
    assert harness.store is not None and harness.store.saved, "renewed credentials not saved"
    assert harness.store.saved[-1].token != fake.TOKEN


async def test_a_5xx_on_a_read_is_retried_then_succeeds(harness: Harness) -> None:
    fake = harness.fake
    fake.fail_next("profile", lambda r: fake.server_error())
    started = fake.clock.now()

    profile = await harness.connector().fetch_profile()

    assert profile.followers == fake.followers
    assert len(fake.requests_to("profile")) == 2
    assert fake.clock.now() > started, "no backoff before the retry"


async def test_a_5xx_on_publish_is_an_unknown_outcome_never_resent(harness: Harness) -> None:
    fake = harness.fake
    publishing(fake)
    fake.fail_next("publish", lambda r: fake.server_error())

    with pytest.raises(OutcomeUnknownError):
        await harness.publish(harness.connector(), TEXT)

    assert len(fake.requests_to("publish")) == 1


async def test_a_malformed_body_is_a_clear_error(harness: Harness) -> None:
    fake = harness.fake
    fake.fail_next("profile", lambda r: fake.malformed(), times=5)

    with pytest.raises(PlatformError, match="not what the API documents"):
        await harness.connector().fetch_profile()


async def test_a_malformed_publish_answer_is_an_unknown_outcome(harness: Harness) -> None:
    fake = harness.fake
    publishing(fake)
    fake.fail_next("publish", lambda r: fake.malformed())

    with pytest.raises(OutcomeUnknownError):
        await harness.publish(harness.connector(), TEXT)


async def test_no_secret_reaches_a_log_line_or_an_error(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    fake = harness.fake
    caplog.set_level(logging.DEBUG)
    extra = fake.credential_extra(expired=False)
    secrets = [fake.TOKEN, *(v for k, v in extra.items() if "token" in k or "secret" in k)]
    fake.fail_next("profile", lambda r: fake.unauthorized(), times=10)
    fake.fail_next("metrics", lambda r: fake.server_error(), times=10)
    connector = harness.connector(retry=RetryPolicy(attempts=2, max_wait=60.0))
    raised: list[PlatformError] = []
    with pytest.raises(PlatformError) as first:
        await connector.fetch_profile()
    raised.append(first.value)
    fake.faults.clear()
    fake.fail_next("metrics", lambda r: fake.server_error(), times=10)
    with pytest.raises(PlatformError) as second:
        async for _ in connector.fetch_post_metrics():
            pass
    raised.append(second.value)

    shown = [f"{e} {e.body} {e.hint} {e!r}" for e in raised]
    text = "\n".join(shown + [r.getMessage() for r in caplog.records])
    for secret in secrets:
        assert secret not in text

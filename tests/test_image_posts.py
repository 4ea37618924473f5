"""Posts with an image by URL: stored on the post, checked per platform, handed to the connector.

Instagram cannot publish text alone and YouTube cannot publish at all; both must be caught when
the post is drafted (an error finding), not when the worker reaches the platform. A platform
that takes ``image_url`` receives it from the publisher; one that does not gets the text only.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import ClassVar

import pytest
from sqlalchemy import Engine

from brandkit.clock import SimulatedClock
from brandkit.content import length
from brandkit.content.privacy import PrivacyAllowlist
from brandkit.db.engine import session_scope
from brandkit.db.models import Account
from brandkit.planner.variants import check_variant
from brandkit.platforms import base
from brandkit.platforms.base import PublishResult
from brandkit.platforms.mastodon import MastodonConnector
from brandkit.publishing.states import VariantState as S
from tests.harness import make_world
from tests.test_cli import add_account, run
from tests.test_cli import workspace as workspace  # the fixture, re-exported for this module

IMAGE = "https://clinic.example/images/flu.jpg"
SEEN: list[tuple[str, str | None]] = []


class PictureConnector(MastodonConnector):
    """A platform like Instagram: needs an image by URL, speaks the sandbox's API underneath."""

    platform: ClassVar[str] = "picturegram"
    can_publish_text: ClassVar[bool] = False
    accepts_image_url: ClassVar[bool] = True

    async def publish(
        self, text: str, *, idempotency_key: str, image_url: str | None = None
    ) -> PublishResult:
        SEEN.append((text, image_url))
        return await super().publish(text, idempotency_key=idempotency_key)


class MetricsOnlyConnector(MastodonConnector):
    platform: ClassVar[str] = "metricstube"
    can_publish_text: ClassVar[bool] = False
    accepts_image_url: ClassVar[bool] = False


@pytest.fixture(autouse=True)
def registered(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    registry = base._registered()
    monkeypatch.setitem(registry, "picturegram", f"{__name__}:PictureConnector")
    monkeypatch.setitem(registry, "metricstube", f"{__name__}:MetricsOnlyConnector")
    monkeypatch.setitem(length.RULES, "picturegram", length.RULES["instagram"])
    SEEN.clear()
    yield


def findings(platform: str, *, has_image: bool) -> list[str]:
    _, found = check_variant(
        "Flu shots are in. Book at the front desk.",
        platform=platform,
        language="en",
        template=None,
        allow=PrivacyAllowlist(),
        has_image=has_image,
    )
    return [f["rule"] for f in found if f["severity"] == "error"]


def test_a_platform_needing_an_image_is_an_error_without_one() -> None:
    assert findings("picturegram", has_image=False) == ["cannot_publish"]
    assert findings("picturegram", has_image=True) == []


def test_a_metrics_only_platform_is_an_error_even_with_an_image() -> None:
    assert findings("metricstube", has_image=True) == ["cannot_publish"]


def test_a_text_platform_has_no_such_error() -> None:
    assert findings("mastodon", has_image=False) == []


async def test_the_publisher_hands_the_image_only_to_platforms_that_take_it(
    engine: Engine, clock: SimulatedClock, tmp_path: Path
) -> None:
    async for world in make_world(engine, clock, tmp_path):
        with session_scope(engine) as session:
            account = session.get(Account, world.accounts["clinic"])
            assert account is not None
            account.platform = "picturegram"
        ids = world.approve(
            "Flu shots are in.", ["dr-yamada", "clinic"], clock.now(), image_url=IMAGE
        )

        clock.advance(timedelta(seconds=1))
        await world.worker().run_once()

        assert {world.variant(v).state for v in ids} == {S.PUBLISHED}
        assert SEEN == [("Flu shots are in.", IMAGE)]  # mastodon got the text alone


def test_posts_new_refuses_an_image_url_a_platform_cannot_fetch(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, workspace: Path
) -> None:
    add_account(capsys, monkeypatch)
    for bad in ("http://clinic.example/a.jpg", "file:///tmp/a.jpg", "https://localhost/a.jpg"):
        code, _, err = run(
            capsys, "posts", "new", "--account", "dr-yamada", "--at", "2030-01-01 09:00",
            "--text", "hello", "--image-url", bad,
        )  # fmt: skip
        assert code == 65 and "--image-url" in err and "https" in err, (bad, err)


def test_posts_new_stores_the_image_url(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, workspace: Path
) -> None:
    add_account(capsys, monkeypatch)
    code, out, err = run(
        capsys, "posts", "new", "--account", "dr-yamada", "--at", "2030-01-01 09:00",
        "--text", "hello", "--image-url", IMAGE, "--json",
    )  # fmt: skip
    assert code == 0, err
    post_id = json.loads(out)["id"]
    code, out, _ = run(capsys, "posts", "show", str(post_id), "--json")
    assert code == 0 and json.loads(out)["image_url"] == IMAGE

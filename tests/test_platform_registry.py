"""Platforms are found by name, lazily, like APScheduler finds its job stores."""

from __future__ import annotations

import pytest

from brandkit.errors import UnknownPlatformError
from brandkit.platforms.base import get_connector_class, known_platforms
from brandkit.platforms.mastodon import MastodonConnector


def test_mastodon_resolves_to_its_connector_class() -> None:
    assert get_connector_class("mastodon") is MastodonConnector
    assert get_connector_class("Mastodon") is MastodonConnector
    assert "mastodon" in known_platforms()


def test_an_unknown_platform_names_the_known_ones() -> None:
    with pytest.raises(UnknownPlatformError) as caught:
        get_connector_class("myspace")

    assert caught.value.name == "myspace"
    assert "mastodon" in caught.value.known
    assert caught.value.exit_code == 66
    assert str(caught.value).startswith('No platform by the name "myspace" was found')
    assert "known platforms:" in str(caught.value) and "mastodon" in str(caught.value)

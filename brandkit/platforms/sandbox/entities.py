"""Mastodon's documented JSON entities (Account, CredentialAccount, Status, Instance v2).

Shapes follow docs.joinmastodon.org: ids are strings, datetimes ISO 8601 with milliseconds and
``Z``, ``last_status_at`` a bare date, nullable fields present as ``null``. URLs are absolute,
built from the base URL the request came in on, so the same sandbox serves ASGI tests
(``http://sandbox.localhost``) and a loopback server alike.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from brandkit.clock import ensure_utc

from . import text
from .model import Engagement
from .records import SandboxAccount, SandboxConfig, SandboxStatus

JSON = dict[str, Any]
MASTODON_VERSION = "4.5.0"


def iso(moment: datetime) -> str:
    """``2019-12-08T03:48:33.901Z``: UTC, milliseconds, ``Z``, as Mastodon writes datetimes."""
    moment = ensure_utc(moment)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def account_json(
    account: SandboxAccount,
    *,
    base_url: str,
    followers: int,
    statuses_count: int,
    last_status_at: datetime | None,
) -> JSON:
    """The Account entity."""
    profile = f"{base_url}/@{account.username}"
    return {
        "id": account.id,
        "username": account.username,
        "acct": account.username,
        "display_name": account.username.replace("_", " ").title(),
        "locked": False,
        "bot": False,
        "discoverable": True,
        "indexable": False,
        "group": False,
        "created_at": iso(account.created_at),
        "note": "<p>A simulated account on the brandkit sandbox.</p>",
        "url": profile,
        "uri": f"{base_url}/users/{account.username}",
        "avatar": f"{base_url}/avatars/original/missing.png",
        "avatar_static": f"{base_url}/avatars/original/missing.png",
        "header": f"{base_url}/headers/original/missing.png",
        "header_static": f"{base_url}/headers/original/missing.png",
        "followers_count": followers,
        "following_count": account.following,
        "statuses_count": statuses_count,
        "last_status_at": last_status_at.date().isoformat() if last_status_at else None,
        "hide_collections": False,
        "noindex": False,
        "emojis": [],
        "roles": [],
        "fields": [],
    }


def credential_account_json(account_payload: JSON) -> JSON:
    """The CredentialAccount entity: an Account plus ``source`` and ``role``."""
    return {
        **account_payload,
        "source": {
            "privacy": "public",
            "sensitive": False,
            "language": "",
            "note": "A simulated account on the brandkit sandbox.",
            "fields": [],
            "follow_requests_count": 0,
            "hide_collections": False,
            "discoverable": True,
            "indexable": False,
        },
        "role": {
            "id": "-99",
            "name": "",
            "permissions": "0",
            "color": "",
            "highlighted": False,
        },
    }


def status_json(
    status: SandboxStatus,
    *,
    base_url: str,
    account_payload: JSON,
    engagement: Engagement,
    viewer: str,
) -> JSON:
    """The Status entity, with counts as of the moment ``engagement`` was computed."""
    status_id = str(status.id)
    payload: JSON = {
        "id": status_id,
        "created_at": iso(status.created_at),
        "in_reply_to_id": str(status.in_reply_to_id) if status.in_reply_to_id else None,
        "in_reply_to_account_id": status.in_reply_to_account_id,
        "sensitive": status.sensitive,
        "spoiler_text": status.spoiler_text,
        "visibility": status.visibility,
        "language": status.language,
        "uri": f"{base_url}/users/{status.username}/statuses/{status_id}",
        "url": f"{base_url}/@{status.username}/{status_id}",
        "replies_count": engagement.replies,
        "reblogs_count": engagement.reblogs,
        "favourites_count": engagement.favourites,
        "quotes_count": engagement.quotes,
        "edited_at": None,
        "favourited": False,
        "reblogged": False,
        "muted": False,
        "bookmarked": False,
        "content": text.render_content(status.text, base_url),
        "filtered": [],
        "reblog": None,
        "quote": None,
        "quote_approval": {"automatic": ["public"], "manual": [], "current_user": "automatic"},
        "application": {"name": "brandkit", "website": None},
        "account": account_payload,
        "media_attachments": [],
        "mentions": [],
        "tags": [{"name": tag, "url": text.tag_url(base_url, tag)} for tag in status.tags],
        "emojis": [],
        "card": None,
        "poll": None,
    }
    if status.username == viewer:
        payload["pinned"] = False
    return payload


def instance_json(*, base_url: str, domain: str, config: SandboxConfig) -> JSON:
    """The Instance (v2) entity, minimal but complete enough for clients to read limits."""
    return {
        "domain": domain,
        "title": "brandkit sandbox",
        "version": MASTODON_VERSION,
        "source_url": "https://github.com/mastodon/mastodon",
        "description": "A simulated Mastodon-compatible server for brandkit's demo and tests.",
        "usage": {"users": {"active_month": 0}},
        "thumbnail": {"url": f"{base_url}/packs/media/images/preview.png"},
        "icon": [],
        "languages": ["ja", "en"],
        "configuration": {
            "urls": {"streaming": base_url.replace("http", "ws", 1), "status": None},
            "vapid": {"public_key": ""},
            "accounts": {"max_featured_tags": 10, "max_pinned_statuses": 5},
            "statuses": {
                "max_characters": config.max_characters,
                "max_media_attachments": 4,
                "characters_reserved_per_url": text.URL_LENGTH,
            },
            "media_attachments": {
                "supported_mime_types": ["image/jpeg", "image/png", "image/gif", "image/webp"],
                "image_size_limit": 16777216,
                "image_matrix_limit": 33177600,
                "video_size_limit": 103809024,
                "video_frame_rate_limit": 120,
                "video_matrix_limit": 8294400,
            },
            "polls": {
                "max_options": 4,
                "max_characters_per_option": 50,
                "min_expiration": 300,
                "max_expiration": 2629746,
            },
            "translation": {"enabled": False},
        },
        "registrations": {"enabled": False, "approval_required": False, "message": None},
        "api_versions": {"mastodon": 6},
        "contact": {"email": "", "account": None},
        "rules": [],
    }

"""Bluesky for the contract suite: a PDS with its session, repository and AppView endpoints.

Shapes follow docs.bsky.app and the lexicons in ``bluesky-social/atproto``:
``com.atproto.server.createSession`` / ``refreshSession``
(docs/api/com-atproto-server-create-session, …-refresh-session: ``accessJwt``, ``refreshJwt``,
``handle``, ``did``; the refresh token rotates),
``com.atproto.repo.createRecord`` (…-repo-create-record: ``uri``, ``cid``, ``commit``,
``validationStatus``) and ``getRecord`` (…-repo-get-record: ``uri``, ``cid``, ``value``; a missing
record is 400 ``RecordNotFound``), ``com.atproto.identity.resolveHandle`` (``did``),
``app.bsky.actor.getProfile`` (``app.bsky.actor.defs#profileViewDetailed``),
``app.bsky.feed.getAuthorFeed`` (``feed`` of ``app.bsky.feed.defs#feedViewPost`` and an opaque
``cursor``), XRPC errors ``{"error", "message"}`` with an expired or unknown access token answered
as HTTP **400** ``ExpiredToken``/``InvalidToken`` (docs.bsky.app error tables), and rate limits as
``@atproto/xrpc-server`` sends them: ``RateLimit-Limit/Remaining/Reset`` (epoch seconds) and
``RateLimit-Policy`` (advanced-guides/rate-limits).

``valid_tokens`` holds every secret that still works — access and refresh JWTs and the app
password — so clearing it revokes the app password (which revokes its sessions too on Bluesky).
A create under an existing record key answers HTTP 500, as the reference PDS does (atproto #3718).
"""

from __future__ import annotations

import base64
import json
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import httpx

from brandkit.content.entities import grapheme_count
from brandkit.platforms.base import Credentials
from tests.contract.fake import Endpoint, FakePlatform, FakePost

DID = "did:plc:7iza6de2dwap2sbkpav7c6c6"
HANDLE = "dr-sato.bsky.social"
APP_PASSWORD = "abcd-efgh-ijkl-mnop"
REFRESH = "refresh-SECRET-jwt-0123456789"
POST = "app.bsky.feed.post"
B32 = "234567abcdefghijklmnopqrstuvwxyz"


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def tid(micros: int, clock_id: int = 0) -> str:
    """A TID (atproto.com/specs/tid) for ``micros`` since the epoch."""
    value, chars = (micros << 10) | clock_id, []
    for _ in range(13):
        chars.append(B32[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def is_tid(value: str) -> bool:
    return len(value) == 13 and value[0] in B32[:16] and all(c in B32 for c in value)


def mint_jwt(kind: str, *, sub: str, issued: datetime, lifetime: timedelta) -> str:
    """A JWT shaped like the PDS's (``at+jwt``, ``refresh+jwt``) with an unverifiable signature."""

    def part(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")

    claims = {
        "scope": "com.atproto.appPass" if kind == "at+jwt" else "com.atproto.refresh",
        "sub": sub,
        "aud": "did:web:pds.example",
        "iat": int(issued.timestamp()),
        "exp": int((issued + lifetime).timestamp()),
    }
    if kind == "refresh+jwt":
        claims["jti"] = secrets.token_hex(8)
    signature = base64.urlsafe_b64encode(secrets.token_bytes(32)).decode().rstrip("=")
    return f"{part({'typ': kind, 'alg': 'ES256K'})}.{part(claims)}.{signature}"


class FakeBluesky(FakePlatform):
    platform: ClassVar[str] = "bluesky"
    base_url: ClassVar[str] = "https://pds.example"

    def __init__(self, clock: Any = None) -> None:
        super().__init__(clock)
        self.valid_tokens |= {REFRESH, APP_PASSWORD}
        self.kinds: dict[str, str] = {
            self.TOKEN: "access",
            self.FRESH_TOKEN: "access",
            REFRESH: "refresh",
            APP_PASSWORD: "password",
        }
        self.expired_tokens: set[str] = set()
        self.handles: dict[str, str] = {HANDLE: DID, "nurse-kato.bsky.social": "did:plc:nurse"}

    # --- credentials ------------------------------------------------------------------------

    def credentials(self, *, expired: bool = False) -> Credentials:
        """A stored session; ``expired``: its access token has expired (the refresh JWT holds)."""
        if expired:
            self.valid_tokens.discard(self.TOKEN)
            self.expired_tokens.add(self.TOKEN)
        return Credentials(token=self.TOKEN, extra=self.credential_extra(expired=expired))

    def credential_extra(self, *, expired: bool) -> dict[str, str]:
        expires = self.clock.now() + (timedelta(hours=-1) if expired else timedelta(hours=2))
        return {
            "identifier": HANDLE,
            "app_password": APP_PASSWORD,
            "refresh_jwt": REFRESH,
            "did": DID,
            "handle": HANDLE,
            "expires_at": expires.isoformat(),
        }

    def new_id(self) -> str:
        micros = int(self.clock.now().timestamp() * 1_000_000) + int(super().new_id())
        return f"at://{DID}/{POST}/{tid(micros)}"

    def _issue(self) -> dict[str, object]:
        now = self.clock.now()
        access = mint_jwt("at+jwt", sub=DID, issued=now, lifetime=timedelta(hours=2))
        refresh = mint_jwt("refresh+jwt", sub=DID, issued=now, lifetime=timedelta(days=60))
        self.valid_tokens |= {access, refresh}
        self.kinds |= {access: "access", refresh: "refresh"}
        return {"accessJwt": access, "refreshJwt": refresh, "handle": HANDLE, "did": DID}

    def _bearer(self, request: httpx.Request, kind: str) -> httpx.Response | None:
        """``None`` when the request carries a valid ``kind`` token, else the PDS's answer."""
        header = request.headers.get("authorization", "")
        if not header.startswith("Bearer "):
            return self._error(401, "AuthMissing", "Authentication Required")
        token = header.removeprefix("Bearer ")
        if token in self.expired_tokens:
            return self._error(400, "ExpiredToken", "Token has expired")
        if token not in self.valid_tokens or self.kinds.get(token) != kind:
            return self.unauthorized()
        return None

    # --- routing ----------------------------------------------------------------------------

    def route(self, request: httpx.Request) -> Endpoint | None:
        nsid = request.url.path.removeprefix("/xrpc/")
        return {
            "com.atproto.repo.createRecord": "publish",
            "app.bsky.actor.getProfile": "profile",
            "app.bsky.feed.getAuthorFeed": "metrics",
            "com.atproto.server.createSession": "token",
            "com.atproto.server.refreshSession": "token",
        }.get(nsid)  # type: ignore[return-value]

    def handle(self, request: httpx.Request, endpoint: Endpoint | None) -> httpx.Response:
        nsid = request.url.path.removeprefix("/xrpc/")
        if nsid == "com.atproto.server.createSession":
            body = json.loads(request.content)
            password = body.get("password")
            if body.get("identifier") not in (HANDLE, DID) or password not in self.valid_tokens:
                return self._error(401, "AuthenticationRequired", "Invalid identifier or password")
            return self._answer(self._issue())
        if nsid == "com.atproto.server.refreshSession":
            if refused := self._bearer(request, "refresh"):
                return refused
            self.valid_tokens.discard(request.headers["authorization"].removeprefix("Bearer "))
            return self._answer(self._issue())
        if refused := self._bearer(request, "access"):
            return refused
        params = request.url.params
        if nsid == "com.atproto.repo.createRecord":
            return self._create(json.loads(request.content))
        if nsid == "com.atproto.repo.getRecord":
            return self._get_record(params.get("repo", ""), params.get("rkey", ""))
        if nsid == "com.atproto.server.getSession":
            return self._answer({"did": DID, "handle": HANDLE, "active": True})
        if nsid == "com.atproto.identity.resolveHandle":
            did = self.handles.get(params.get("handle", ""))
            if did is None:
                return self._error(400, "InvalidRequest", "Unable to resolve handle")
            return self._answer({"did": did})
        if nsid == "app.bsky.actor.getProfile" and params.get("actor") in (DID, HANDLE):
            return self._answer(self._profile())
        if nsid == "app.bsky.feed.getAuthorFeed" and params.get("actor") in (DID, HANDLE):
            return self._feed(params.get("cursor"), int(params.get("limit", "50")))
        return self._error(400, "InvalidRequest", f"unknown method or actor: {nsid}")

    # --- answers ----------------------------------------------------------------------------

    def _create(self, body: dict[str, Any]) -> httpx.Response:
        record, rkey = body["record"], body.get("rkey") or tid(len(self.posts))
        if body.get("repo") not in (DID, HANDLE) or body.get("collection") != POST:
            return self._error(400, "InvalidRequest", "Invalid repo or collection")
        if not is_tid(rkey):
            return self._error(400, "InvalidRequest", "Invalid record key: must be a TID")
        text = record.get("text", "")
        if grapheme_count(text) > 300 or len(text.encode()) > 3000:
            return self._error(
                400,
                "InvalidRequest",
                "Invalid app.bsky.feed.post record: Record/text must not be longer than 300 "
                "graphemes",
            )
        uri = f"at://{DID}/{POST}/{rkey}"
        if any(p.remote_id == uri for p in self.posts):
            return self._error(500, "InternalServerError", "Internal Server Error")
        created = datetime.fromisoformat(record["createdAt"].replace("Z", "+00:00"))
        self.posts.append(FakePost(uri, text, created, extra={"record": record}))
        cid = "bafyreie5737gdxlw5i64vzichcalba3z2v5n6icifvx5xytvske7mr3hpm"
        return self._answer(
            {
                "uri": uri,
                "cid": cid,
                "commit": {"cid": cid, "rev": tid(int(created.timestamp() * 1e6))},
                "validationStatus": "valid",
            }
        )

    def _get_record(self, repo: str, rkey: str) -> httpx.Response:
        uri = f"at://{DID}/{POST}/{rkey}"
        for post in self.posts:
            if post.remote_id == uri and repo in (DID, HANDLE):
                record = post.extra.get("record") or self._record(post)
                return self._answer({"uri": uri, "cid": "bafyreigh2akiscaild", "value": record})
        return self._error(400, "RecordNotFound", f"Could not locate record: {uri}")

    def _record(self, post: FakePost) -> dict[str, object]:
        return {"$type": POST, "text": post.text, "createdAt": iso(post.created_at)}

    def _profile(self) -> dict[str, object]:
        return {
            "did": DID,
            "handle": HANDLE,
            "displayName": "Dr. Sato (Sakura Clinic)",
            "followersCount": self.followers,
            "followsCount": self.following,
            "postsCount": len(self.posts),
            "indexedAt": "2026-01-05T09:12:44.310Z",
            "createdAt": "2024-02-06T00:00:00.000Z",
        }

    def _feed(self, cursor: str | None, limit: int) -> httpx.Response:
        """Newest first; the cursor is the last item's sort time (opaque to the client)."""
        posts = sorted(self.posts, key=lambda p: p.created_at, reverse=True)
        if cursor:
            before = datetime.fromisoformat(cursor.split("::")[0].replace("Z", "+00:00"))
            posts = [p for p in posts if p.created_at < before]
        page = posts[: min(limit, self.page_size)]
        body: dict[str, object] = {"feed": [{"post": self._post_view(p)} for p in page]}
        if len(posts) > len(page):
            body["cursor"] = f"{iso(page[-1].created_at)}::bafyreib2rxk3rh6kzwq"
        return self._answer(body)

    def _post_view(self, post: FakePost) -> dict[str, object]:
        return {
            "uri": post.remote_id,
            "cid": "bafyreib2rxk3rh6kzwq",
            "author": {"did": DID, "handle": HANDLE, "displayName": "Dr. Sato (Sakura Clinic)"},
            "record": post.extra.get("record") or self._record(post),
            "replyCount": post.replies,
            "repostCount": post.reposts,
            "likeCount": post.likes,
            "quoteCount": post.quotes,
            "bookmarkCount": 0,
            "indexedAt": iso(post.created_at + timedelta(seconds=1)),
            "labels": [],
        }

    def _limits(self) -> dict[str, str]:
        reset = self.clock.now() + timedelta(minutes=5)
        return {
            "RateLimit-Limit": "3000",
            "RateLimit-Remaining": "2999",
            "RateLimit-Reset": str(int(reset.timestamp())),
            "RateLimit-Policy": "3000;w=300",
        }

    def _answer(self, payload: object) -> httpx.Response:
        return httpx.Response(200, json=payload, headers=self._limits())

    def _error(self, status: int, name: str, message: str) -> httpx.Response:
        return httpx.Response(status, json={"error": name, "message": message})

    def rate_limited(self, reset_at: datetime) -> httpx.Response:
        seconds = max(0, int((reset_at - self.clock.now()).total_seconds()))
        return httpx.Response(
            429,
            json={"error": "RateLimitExceeded", "message": "Rate Limit Exceeded"},
            headers={
                "RateLimit-Limit": "3000",
                "RateLimit-Remaining": "0",
                "RateLimit-Reset": str(int(reset_at.timestamp())),
                "RateLimit-Policy": "3000;w=300",
                "Retry-After": str(seconds),
            },
        )

    def unauthorized(self) -> httpx.Response:
        return self._error(400, "InvalidToken", "Token could not be verified")

    def server_error(self) -> httpx.Response:
        return self._error(500, "InternalServerError", "Internal Server Error")


FAKE = FakeBluesky

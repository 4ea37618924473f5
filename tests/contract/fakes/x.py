"""X (API v2) for the contract suite, and the OpenAPI check every X request and answer passes.

Shapes follow docs.x.com and X's OpenAPI document (``openapi.json``, v2.167, read from
``../shared/reference/x-api/`` at test time, never copied into the project):

- ``POST /2/tweets`` → 201 ``{"data": {"id", "text", "edit_history_post_ids"}}``
  (x-api/posts/create-post; schema ``CreatePostsResponse``);
- ``GET /2/users/me`` → ``{"data": User}`` with the requested ``user.fields`` only
  (x-api/users/get-my-user; ``GetUsersMeResponse``, ``UserPublicMetrics``);
- ``GET /2/users/{id}/tweets`` → ``{"data": [Post…], "meta": {"result_count", "newest_id",
  "oldest_id", "next_token"}}``, newest first, ``pagination_token`` for the next page, no
  ``data`` at all when empty (x-api/posts/user-posts-timeline-by-user-id;
  ``GetUsersPostsResponse``);
- ``POST /2/oauth2/token`` with ``grant_type=refresh_token``: a new access token and a new
  refresh token, the old one spent (fundamentals/authentication/oauth-2-0/authorization-code);
- ``x-rate-limit-limit/remaining/reset`` (epoch seconds) on every answer, ``x-user-limit-24hour-*``
  and ``x-app-limit-24hour-*`` on posting (x-api/fundamentals/rate-limits);
- errors as problem details with ``type: about:blank`` for 401, 429 and 5xx
  (x-api/fundamentals/response-codes-and-errors).

Every request the connector sends is checked against the document (:class:`OpenAPI`): the
operation exists, each query parameter is declared for it and its value fits the schema, and a
JSON body fits the request-body schema. Every JSON answer the fake gives is checked against the
response schema of its operation and status.
"""

from __future__ import annotations

import base64
import copy
import html
import json
import os
import re
from collections.abc import Mapping
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from jsonschema import Draft4Validator, FormatChecker
from jsonschema.exceptions import ValidationError
from referencing import Registry
from referencing.jsonschema import DRAFT4

from brandkit.platforms.http import parse_iso8601
from tests.contract.fake import Endpoint, FakePlatform, FakePost

REPO = Path(__file__).resolve().parents[3]
OPENAPI_PATH = Path(
    os.environ.get(
        "X_OPENAPI_JSON", REPO.parent / "shared" / "reference" / "x-api" / "openapi.json"
    )
)

USER_ID = "1587342031994318848"
USERNAME = "sakura_clinic"
CLIENT_ID = "client-id-123"
REFRESH_TOKEN = "refresh-SECRET-abcdef"

# Problem types docs.x.com lists (response-codes-and-errors) beyond the document's Problem union.
_CORE_PROBLEM: dict[str, Any] = {
    "type": "object",
    "required": ["type", "title"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "detail": {"type": "string"},
        "status": {"type": "integer"},
    },
}
# RFC 6749 §5.1 and §5.2, as X's token endpoint answers.
_TOKEN_ANSWER: dict[str, Any] = {
    "type": "object",
    "required": ["access_token", "token_type"],
    "properties": {
        "access_token": {"type": "string", "minLength": 1},
        "token_type": {"type": "string", "enum": ["bearer"]},
        "expires_in": {"type": "integer"},
        "scope": {"type": "string"},
        "refresh_token": {"type": "string", "minLength": 1},
    },
}
_TOKEN_ERROR: dict[str, Any] = {
    "type": "object",
    "required": ["error"],
    "properties": {"error": {"type": "string"}, "error_description": {"type": "string"}},
}
_DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


class OpenAPIViolation(AssertionError):
    """A request or answer that the OpenAPI document does not allow."""


_FORMATS = FormatChecker()


@_FORMATS.checks("date-time")
def _is_date_time(value: object) -> bool:
    return not isinstance(value, str) or (
        _DATE_TIME.match(value) is not None and parse_iso8601(value) is not None
    )


def _adapt(node: Any) -> Any:
    """OpenAPI 3.0 schema keywords as JSON Schema draft 4 reads them (``nullable`` → null)."""
    if isinstance(node, list):
        return [_adapt(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: _adapt(value) for key, value in node.items()}
    if out.pop("nullable", None) is True:
        if isinstance(out.get("type"), str):
            out["type"] = [out["type"], "null"]
            if "enum" in out:
                out["enum"] = [*out["enum"], None]
        elif "$ref" in out:
            out = {"anyOf": [{"$ref": out.pop("$ref")}, {"type": "null"}]}
    return out


class OpenAPI:
    """Checks HTTP exchanges against one OpenAPI 3.0 document.

    Schemas are validated with ``jsonschema`` (draft 4, the dialect OpenAPI 3.0 extends), with
    ``$ref`` resolved inside the document and ``nullable`` turned into a ``null`` type.
    """

    BASE = "urn:x-openapi"

    def __init__(self, document: Mapping[str, Any]) -> None:
        self.document = document
        self._registry: Registry[Any] = Registry().with_resource(
            self.BASE, DRAFT4.create_resource(_adapt(copy.deepcopy(dict(document))))
        )
        self._routes: list[tuple[str, re.Pattern[str], str, Mapping[str, Any]]] = []
        for template, item in document["paths"].items():
            pattern = re.compile("^" + re.sub(r"\{[^/}]+\}", "([^/]+)", template) + "$")
            for method, operation in item.items():
                if method in ("get", "post", "put", "patch", "delete"):
                    self._routes.append((method.upper(), pattern, template, operation))
        flow = document["components"]["securitySchemes"]["OAuth2UserToken"]["flows"]
        self.token_path = urlsplit(flow["authorizationCode"]["tokenUrl"]).path

    # --- schemas --------------------------------------------------------------------------

    def resolve(self, node: Mapping[str, Any]) -> Mapping[str, Any]:
        """``node`` with a local ``$ref`` (``#/components/…``) followed."""
        while "$ref" in node:
            target: Any = self.document
            for part in node["$ref"].removeprefix("#/").split("/"):
                target = target[part]
            node = target
        return node

    def validate(self, instance: object, schema: Mapping[str, Any], what: str) -> None:
        """Raise :class:`OpenAPIViolation` naming ``what`` unless ``instance`` fits ``schema``."""
        if "$ref" in schema:
            schema = {"$ref": self.BASE + schema["$ref"]}
        else:
            schema = {"allOf": [_adapt(dict(schema))]}
        validator = Draft4Validator(schema, registry=self._registry, format_checker=_FORMATS)
        error = next(iter(sorted(validator.iter_errors(instance), key=_depth)), None)
        if error is not None:
            where = "/".join(str(p) for p in error.absolute_path) or "(root)"
            raise OpenAPIViolation(f"{what}: at {where}: {error.message}")

    # --- requests -------------------------------------------------------------------------

    def operation(self, method: str, path: str) -> tuple[str, Mapping[str, Any], list[str]]:
        """The path template, operation and path-parameter values of ``method path``."""
        for verb, pattern, template, operation in self._routes:
            if verb == method and (match := pattern.match(path)):
                return template, operation, list(match.groups())
        raise OpenAPIViolation(f"{method} {path} is not an operation of the OpenAPI document")

    def check_request(self, request: httpx.Request) -> str:
        """Check ``request``; return the operation id (``oauth2Token`` for the token endpoint)."""
        if request.method == "POST" and request.url.path == self.token_path:
            _check_token_request(request)
            return "oauth2Token"
        template, operation, values = self.operation(request.method, request.url.path)
        name = operation.get("operationId", template)
        parameters = [self.resolve(p) for p in operation.get("parameters", [])]
        path_params = [p for p in parameters if p["in"] == "path"]
        for param, value in zip(path_params, values, strict=True):
            self.validate(value, param["schema"], f"{name}: path parameter {param['name']}")
        query = {p["name"]: p for p in parameters if p["in"] == "query"}
        for key in request.url.params.keys():
            declared = query.get(key)
            if declared is None:
                raise OpenAPIViolation(f"{name}: query parameter {key!r} is not declared")
            values = request.url.params.get_list(key)
            if len(values) != 1:
                raise OpenAPIViolation(f"{name}: query parameter {key!r} is repeated")
            value = self._coerce(values[0], declared, name)
            self.validate(value, declared["schema"], f"{name}: query parameter {key!r}")
        for key, param in query.items():
            if param.get("required") and key not in request.url.params:
                raise OpenAPIViolation(f"{name}: required query parameter {key!r} is missing")
        self._check_body(request, operation, name)
        return str(name)

    def _coerce(self, raw: str, param: Mapping[str, Any], name: str) -> object:
        """A query string value as the typed value its schema describes."""
        schema = self.resolve(param["schema"])
        kind = schema.get("type")
        if kind == "array":
            if param.get("explode", True):
                raise OpenAPIViolation(f"{name}: exploded array parameters are not used here")
            return raw.split(",")
        if kind == "integer":
            if not re.fullmatch(r"-?\d+", raw):
                raise OpenAPIViolation(f"{name}: {param['name']}={raw!r} is not an integer")
            return int(raw)
        if kind == "boolean":
            if raw not in ("true", "false"):
                raise OpenAPIViolation(f"{name}: {param['name']}={raw!r} is not a boolean")
            return raw == "true"
        return raw

    def _check_body(self, request: httpx.Request, operation: Mapping[str, Any], name: str) -> None:
        body = operation.get("requestBody")
        if body is None:
            if request.content:
                raise OpenAPIViolation(f"{name}: takes no request body")
            return
        body = self.resolve(body)
        media = request.headers.get("content-type", "").split(";")[0].strip()
        content = body["content"].get(media)
        if content is None:
            raise OpenAPIViolation(f"{name}: request content-type {media!r} is not documented")
        try:
            payload = json.loads(request.content)
        except ValueError as exc:
            raise OpenAPIViolation(f"{name}: the request body is not JSON") from exc
        self.validate(payload, content["schema"], f"{name}: request body")

    # --- answers --------------------------------------------------------------------------

    def check_response(self, request: httpx.Request, response: httpx.Response) -> None:
        """Check a JSON answer against the schema of its operation and status.

        A body that is not JSON is left alone (the contract's "malformed body" answer).
        """
        try:
            body = json.loads(response.content)
        except ValueError:
            return
        status = response.status_code
        if request.method == "POST" and request.url.path == self.token_path:
            schema = _TOKEN_ANSWER if status == 200 else _TOKEN_ERROR
            self.validate(body, schema, f"oauth2Token {status} answer")
            return
        _, operation, _ = self.operation(request.method, request.url.path)
        self.check_body(body, operation, status, response.headers.get("content-type", ""))

    def check_body(
        self, body: object, operation: Mapping[str, Any], status: int, content_type: str
    ) -> None:
        """Check a decoded answer ``body`` of ``operation`` with ``status``."""
        name = operation.get("operationId")
        responses = operation["responses"]
        answer = self.resolve(responses.get(str(status)) or responses["default"])
        media = content_type.split(";")[0].strip() or "application/json"
        content = answer.get("content", {}).get(media)
        if content is None:
            raise OpenAPIViolation(f"{name}: no {media!r} answer documented for HTTP {status}")
        schema = content["schema"]
        if status >= 400 and media == "application/problem+json" and not self._known(body):
            schema = _CORE_PROBLEM  # about:blank, usage-capped…: documented on docs.x.com only
        self.validate(body, schema, f"{name} HTTP {status} answer")

    def _known(self, body: object) -> bool:
        """Whether ``body`` is a problem type the document's ``Problem`` union describes."""
        mapping = self.document["components"]["schemas"]["Problem"]["discriminator"]["mapping"]
        return isinstance(body, dict) and body.get("type") in mapping


def _depth(error: ValidationError) -> int:
    return -len(error.absolute_path)


def _check_token_request(request: httpx.Request) -> None:
    """The refresh-token grant as docs.x.com describes it (form-encoded, Basic or client_id)."""
    media = request.headers.get("content-type", "").split(";")[0].strip()
    if media != "application/x-www-form-urlencoded":
        raise OpenAPIViolation(f"oauth2Token: content-type {media!r}, not a form")
    form = {k: v[0] for k, v in parse_qs(request.content.decode()).items()}
    if form.get("grant_type") != "refresh_token" or not form.get("refresh_token"):
        raise OpenAPIViolation(f"oauth2Token: not a refresh_token grant: {sorted(form)}")
    basic = request.headers.get("authorization", "").startswith("Basic ")
    if not basic and not form.get("client_id"):
        raise OpenAPIViolation("oauth2Token: neither HTTP Basic nor client_id identifies the app")
    if "client_secret" in form:
        raise OpenAPIViolation("oauth2Token: X takes the client secret in HTTP Basic only")


@cache
def openapi() -> OpenAPI:
    """X's OpenAPI document, loaded once; the X tests are skipped when it is not there."""
    if not OPENAPI_PATH.is_file():
        pytest.skip(f"X's OpenAPI document is not at {OPENAPI_PATH} (set X_OPENAPI_JSON)")
    return OpenAPI(json.loads(OPENAPI_PATH.read_text(encoding="utf-8")))


# --- the fake -------------------------------------------------------------------------------


def epoch(moment: datetime) -> str:
    return str(int(moment.timestamp()))


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def problem(status: int, title: str, detail: str | None = None, **headers: str) -> httpx.Response:
    """A generic problem-details answer (``type: about:blank``), as X gives for 401/429/5xx."""
    body = {"title": title, "detail": detail or title, "type": "about:blank", "status": status}
    return httpx.Response(
        status,
        content=json.dumps(body).encode(),
        headers={"Content-Type": "application/problem+json", **headers},
    )


def pagination_token(offset: int) -> str:
    """An opaque base32hex token, like X's ``next_token``."""
    return base64.b32hexencode(f"offset:{offset}".encode()).decode().rstrip("=").lower()


def token_offset(token: str) -> int:
    padded = token.upper() + "=" * (-len(token) % 8)
    return int(base64.b32hexdecode(padded).decode().removeprefix("offset:"))


class FakeX(FakePlatform):
    platform: ClassVar[str] = "x"
    base_url: ClassVar[str] = "https://api.x.example"
    page_size: ClassVar[int] = 10

    def __init__(self, clock: Any = None) -> None:
        super().__init__(clock)
        self.spec = openapi()
        self.refresh_tokens = {REFRESH_TOKEN}
        self._rotations = 0

    def credential_extra(self, *, expired: bool) -> dict[str, str]:
        return {**super().credential_extra(expired=expired), "client_id": CLIENT_ID}

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.spec.check_request(request)
        response = super().__call__(request)
        self.spec.check_response(request, response)
        return response

    def route(self, request: httpx.Request) -> Endpoint | None:
        path, method = request.url.path, request.method
        if method == "POST" and path == "/2/tweets":
            return "publish"
        if method == "GET" and path == "/2/users/me":
            return "profile"
        if method == "GET" and path == f"/2/users/{USER_ID}/tweets":
            return "metrics"
        if method == "POST" and path == "/2/oauth2/token":
            return "token"
        return None

    def limits(self, *, posting: bool = False) -> dict[str, str]:
        reset = epoch(self.clock.now() + timedelta(minutes=15))
        headers = {"x-rate-limit-limit": "900", "x-rate-limit-remaining": "899"}
        headers["x-rate-limit-reset"] = reset
        if posting:
            day = epoch(self.clock.now() + timedelta(hours=24))
            for who, cap in (("user", "100"), ("app", "10000")):
                headers[f"x-{who}-limit-24hour-limit"] = cap
                headers[f"x-{who}-limit-24hour-remaining"] = str(int(cap) - 1)
                headers[f"x-{who}-limit-24hour-reset"] = day
        return headers

    def handle(self, request: httpx.Request, endpoint: Endpoint | None) -> httpx.Response:
        if endpoint == "token":
            return self._token(request)
        if not self.authorized(request):
            return self.unauthorized()
        if endpoint == "publish":
            text = json.loads(request.content)["text"]
            post = FakePost(self.new_id(), text, self.clock.now())
            self.posts.append(post)
            data = {"id": post.remote_id, "text": self.published_text(post)}
            body = {"data": {**data, "edit_history_post_ids": [post.remote_id]}}
            return httpx.Response(201, json=body, headers=self.limits(posting=True))
        if endpoint == "profile":
            return httpx.Response(200, json={"data": self._user(request)}, headers=self.limits())
        if endpoint == "metrics":
            return httpx.Response(200, json=self._timeline(request), headers=self.limits())
        return problem(404, "Not Found Error", "Sorry, that page does not exist.")

    def _user(self, request: httpx.Request) -> dict[str, object]:
        wanted = set(request.url.params.get("user.fields", "").split(","))
        user: dict[str, object] = {
            "id": USER_ID,
            "name": "さくら内科クリニック",
            "username": USERNAME,
        }
        if "created_at" in wanted:
            user["created_at"] = "2019-04-01T00:00:00.000Z"
        if "public_metrics" in wanted:
            user["public_metrics"] = {
                "followers_count": self.followers,
                "following_count": self.following,
                "post_count": len(self.posts),
                "listed_count": 3,
                "like_count": 12,
                "media_count": 0,
            }
        return user

    def _timeline(self, request: httpx.Request) -> dict[str, object]:
        params = request.url.params
        newest_first = list(reversed(self.posts))
        if start := parse_iso8601(params.get("start_time")):
            newest_first = [p for p in newest_first if p.created_at >= start]
        offset = token_offset(params["pagination_token"]) if "pagination_token" in params else 0
        size = min(int(params.get("max_results", "10")), self.page_size)
        page = newest_first[offset : offset + size]
        if not page:
            return {"meta": {"result_count": 0}}
        wanted = set(params.get("post.fields", "").split(","))
        meta: dict[str, object] = {
            "result_count": len(page),
            "newest_id": page[0].remote_id,
            "oldest_id": page[-1].remote_id,
        }
        if offset + size < len(newest_first):
            meta["next_token"] = pagination_token(offset + size)
        return {"data": [self._post(p, wanted) for p in page], "meta": meta}

    def _post(self, post: FakePost, wanted: set[str]) -> dict[str, object]:
        data: dict[str, object] = {
            "id": post.remote_id,
            "text": self.published_text(post),
            "edit_history_post_ids": [post.remote_id],
        }
        if "created_at" in wanted:
            data["created_at"] = iso(post.created_at)
        if "public_metrics" in wanted:
            data["public_metrics"] = {
                "repost_count": post.reposts,
                "reply_count": post.replies,
                "like_count": post.likes,
                "quote_count": post.quotes,
                "bookmark_count": 0,
                "impression_count": post.impressions,
            }
        return data

    def _token(self, request: httpx.Request) -> httpx.Response:
        form = {k: v[0] for k, v in parse_qs(request.content.decode()).items()}
        basic = request.headers.get("authorization", "").removeprefix("Basic ")
        client = base64.b64decode(basic).decode().split(":")[0] if basic else form.get("client_id")
        used = form.get("refresh_token")
        if client != CLIENT_ID or used not in self.refresh_tokens:
            body = {
                "error": "invalid_request",
                "error_description": "Value passed for the token was invalid.",
            }
            return httpx.Response(400, json=body)
        self.refresh_tokens.discard(used)  # X's refresh tokens are single-use
        self._rotations += 1
        fresh = f"refresh-SECRET-rotated-{self._rotations}"
        self.refresh_tokens.add(fresh)
        return httpx.Response(
            200,
            json={
                "token_type": "bearer",
                "expires_in": 7200,
                "access_token": self.FRESH_TOKEN,
                "scope": "tweet.read tweet.write users.read offline.access",
                "refresh_token": fresh,
            },
        )

    def published_text(self, post: FakePost) -> str:
        """X returns ``&``, ``<`` and ``>`` escaped as HTML entities."""
        return html.escape(post.text, quote=False)

    def rate_limited(self, reset_at: datetime) -> httpx.Response:
        headers = {"x-rate-limit-limit": "900", "x-rate-limit-remaining": "0"}
        return problem(
            429, "Too Many Requests", **headers, **{"x-rate-limit-reset": epoch(reset_at)}
        )

    def unauthorized(self) -> httpx.Response:
        return problem(401, "Unauthorized")

    def server_error(self) -> httpx.Response:
        return problem(503, "Service Unavailable")


FAKE = FakeX

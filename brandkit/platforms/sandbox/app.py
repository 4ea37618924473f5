"""The sandbox as an ASGI app: a subset of Mastodon's REST API over a :class:`Simulation`.

Routes: ``POST /api/v1/statuses``, ``GET /api/v1/statuses/{id}``,
``GET /api/v1/accounts/verify_credentials``, ``GET /api/v1/accounts/{id}``,
``GET /api/v1/accounts/{id}/statuses`` and ``GET /api/v2/instance``. Errors are Mastodon's
``{"error": "..."}`` entity; unknown routes are 404 ``Record not found``; malformed input gets a
4xx, never a 500. Every response carries the rate-limit headers (see :mod:`.limits`).

Handlers never await between reading and changing the simulation, so hundreds of concurrent
requests on one event loop cannot interleave inside a change.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlencode

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from brandkit.clock import Clock

from . import entities
from .limits import DEFAULT_LIMIT, LimitsMiddleware, RateLimiter, bearer_token
from .params import ApiError, read_params, str_param, truthy
from .records import (
    FaultKind,
    ReplyTargetMissingError,
    SandboxAccount,
    SandboxConfig,
    SandboxStatus,
    ValidationError,
)
from .simulation import Simulation

DEFAULT_PAGE = 20
MAX_PAGE = 40
_LEADING_DIGITS = re.compile(r"\s*(\d{1,19})")
_CURSORS = ("max_id", "since_id", "min_id")
_REPLY_MISSING = "The post you are trying to reply to does not appear to exist."


def create_app(
    *, clock: Clock, config: SandboxConfig | None = None, simulation: Simulation | None = None
) -> Starlette:
    """Build the sandbox app around ``clock``; ``app.state.simulation`` is the live model.

    Pass ``simulation`` to share one model between apps or to inspect it; otherwise one is made
    from ``config`` with its epoch at ``clock.now()``.
    """
    if simulation is None:
        simulation = Simulation(config, epoch=clock.now())
    elif config is not None and config != simulation.config:
        raise ValueError("config differs from simulation.config: pass only one of them")
    config = simulation.config
    api = _Api(simulation, clock)
    limit, seconds = config.rate_limit or DEFAULT_LIMIT
    limiter = RateLimiter(limit, seconds, enforce=config.rate_limit is not None)
    app = Starlette(
        routes=[
            Route("/api/v1/statuses", api.post_status, methods=["POST"]),
            Route("/api/v1/statuses/{id}", api.get_status, methods=["GET"]),
            Route("/api/v1/accounts/verify_credentials", api.verify_credentials, methods=["GET"]),
            Route("/api/v1/accounts/{id}/statuses", api.account_statuses, methods=["GET"]),
            Route("/api/v1/accounts/{id}", api.get_account, methods=["GET"]),
            Route("/api/v2/instance", api.instance, methods=["GET"]),
        ],
        middleware=[
            Middleware(
                LimitsMiddleware,
                limiter=limiter,
                clock=clock,
                latency_s=config.latency_ms / 1000.0,
            )
        ],
        exception_handlers={
            ApiError: _api_error,
            HTTPException: _http_error,
            Exception: _server_error,
        },
    )
    app.state.simulation = simulation
    app.state.clock = clock
    return app


class _Api:
    """The route handlers, sharing one simulation and one clock."""

    def __init__(self, simulation: Simulation, clock: Clock) -> None:
        self.sim = simulation
        self.clock = clock

    async def post_status(self, request: Request) -> Response:
        account = self._authenticate(request)
        fault = self.sim.take_fault()
        if fault is not None and fault != "commit_then_502":
            return _fault_response(fault)
        params = await read_params(request)
        reply_to = str_param(params, "in_reply_to_id")
        reply_id = None
        if reply_to:
            if not reply_to.isdigit() or len(reply_to) > 19:
                raise ApiError(404, _REPLY_MISSING)
            reply_id = int(reply_to)
        language = (str_param(params, "language") or "").strip().lower()
        try:
            status, _ = self.sim.post_status(
                account.username,
                str_param(params, "status") or "",
                at=self.clock.now(),
                idempotency_key=request.headers.get("idempotency-key") or None,
                visibility=str_param(params, "visibility") or "public",
                sensitive=truthy(params.get("sensitive")),
                spoiler_text=str_param(params, "spoiler_text") or "",
                language=language if re.fullmatch(r"[a-z]{2,3}", language) else None,
                in_reply_to_id=reply_id,
            )
        except ValidationError as exc:
            raise ApiError(422, exc.message) from exc
        except ReplyTargetMissingError as exc:
            raise ApiError(404, _REPLY_MISSING) from exc
        if fault == "commit_then_502":
            return _fault_response("error_502")
        return JSONResponse(self._status(request, status, viewer=account.username))

    async def get_status(self, request: Request) -> Response:
        viewer = self._authenticate(request)
        raw = request.path_params["id"]
        status = None
        if raw.isdigit() and len(raw) <= 19:
            status = self.sim.status(int(raw), viewer=viewer.username)
        if status is None:
            raise ApiError(404, "Record not found")
        return JSONResponse(self._status(request, status, viewer=viewer.username))

    async def verify_credentials(self, request: Request) -> Response:
        account = self._authenticate(request)
        payload = self._account(request, account)
        return JSONResponse(entities.credential_account_json(payload))

    async def get_account(self, request: Request) -> Response:
        self._authenticate(request)
        return JSONResponse(self._account(request, self._account_by_id(request)))

    async def account_statuses(self, request: Request) -> Response:
        viewer = self._authenticate(request)
        owner = self._account_by_id(request)
        query = request.query_params
        limit = _limit(query.get("limit"))
        statuses: list[SandboxStatus]
        if truthy(query.get("only_media")) or truthy(query.get("pinned")):
            statuses, has_older = [], False  # the sandbox has neither media nor pins
        else:
            statuses, has_older = self.sim.page(
                owner.username,
                viewer=viewer.username,
                limit=limit,
                max_id=_cursor(query.get("max_id")),
                since_id=_cursor(query.get("since_id")),
                min_id=_cursor(query.get("min_id")),
            )
        account_payload = self._account(request, owner)
        body = [
            self._status(request, status, viewer=viewer.username, account_payload=account_payload)
            for status in statuses
        ]
        headers = {}
        if statuses:
            headers["Link"] = _link_header(request, statuses, has_older)
        return JSONResponse(body, headers=headers)

    async def instance(self, request: Request) -> Response:
        base_url = _base_url(request)
        domain = request.url.netloc or "sandbox.localhost"
        return JSONResponse(
            entities.instance_json(base_url=base_url, domain=domain, config=self.sim.config)
        )

    # -- helpers --------------------------------------------------------------------------

    def _authenticate(self, request: Request) -> SandboxAccount:
        token = bearer_token(request.headers)
        account = self.sim.account_for_token(token) if token else None
        if account is None:
            raise ApiError(401, "The access token is invalid")
        return account

    def _account_by_id(self, request: Request) -> SandboxAccount:
        account = self.sim.account_by_id(request.path_params["id"])
        if account is None:
            raise ApiError(404, "Record not found")
        return account

    def _account(self, request: Request, account: SandboxAccount) -> entities.JSON:
        now = self.clock.now()
        return entities.account_json(
            account,
            base_url=_base_url(request),
            followers=self.sim.followers_at(account.username, now),
            statuses_count=self.sim.statuses_count(account.username, now),
            last_status_at=self.sim.last_status_at(account.username),
        )

    def _status(
        self,
        request: Request,
        status: SandboxStatus,
        *,
        viewer: str,
        account_payload: entities.JSON | None = None,
    ) -> entities.JSON:
        if account_payload is None:
            owner = self.sim.account(status.username)
            account_payload = self._account(request, owner)
        return entities.status_json(
            status,
            base_url=_base_url(request),
            account_payload=account_payload,
            engagement=self.sim.engagement_at(status, self.clock.now()),
            viewer=viewer,
        )


def _base_url(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def _limit(raw: str | None) -> int:
    """Mastodon's ``limit``: default 20, at most 40; nonsense falls back to the default."""
    match = _LEADING_DIGITS.match(raw or "")
    if match is None:
        return DEFAULT_PAGE
    return max(1, min(MAX_PAGE, int(match.group(1))))


def _cursor(raw: str | None) -> int | None:
    """An id cursor; like Rails' ``to_i`` it reads leading digits and ignores the rest."""
    match = _LEADING_DIGITS.match(raw or "")
    return int(match.group(1)) if match else None


def _link_header(request: Request, statuses: list[SandboxStatus], has_older: bool) -> str:
    """``Link`` with absolute URLs: ``rel="next"`` (older, max_id) and ``rel="prev"`` (min_id)."""
    base = f"{_base_url(request)}{request.url.path}"
    kept: list[tuple[str, Any]] = [
        (key, value) for key, value in request.query_params.multi_items() if key not in _CURSORS
    ]
    links = []
    if has_older:
        links.append(f'<{base}?{urlencode([*kept, ("max_id", statuses[-1].id)])}>; rel="next"')
    links.append(f'<{base}?{urlencode([*kept, ("min_id", statuses[0].id)])}>; rel="prev"')
    return ", ".join(links)


def _fault_response(kind: FaultKind) -> Response:
    """What an injected fault looks like on the wire; a 502 comes from the "proxy", as HTML."""
    if kind in ("error_502", "commit_then_502"):
        return HTMLResponse("<html><body><h1>502 Bad Gateway</h1></body></html>", 502)
    if kind == "error_503":
        return JSONResponse({"error": "Service Unavailable"}, 503)
    return JSONResponse({"error": "We're sorry, but something went wrong on our end."}, 500)


def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return JSONResponse({"error": exc.message}, exc.status_code)


def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code in (404, 405):  # Rails answers unknown routes and methods alike
        return JSONResponse({"error": "Record not found"}, 404)
    return JSONResponse({"error": str(exc.detail)}, exc.status_code)


def _server_error(request: Request, exc: Exception) -> Response:
    return JSONResponse({"error": "We're sorry, but something went wrong on our end."}, 500)

"""``brandkit sandbox serve``: the simulated platform as a real server on loopback."""

from __future__ import annotations

from typing import Annotated

import typer

from brandkit.errors import InvalidInputError
from brandkit.platforms import http
from brandkit.platforms.sandbox import SandboxConfig
from brandkit.platforms.sandbox.server import parse_accounts, parse_rate_limit, serve

app = typer.Typer(help="The simulated platform (Mastodon API subset).", no_args_is_help=True)


@app.command("serve")
def serve_cmd(
    port: Annotated[int, typer.Option(help="TCP port on 127.0.0.1.")],
    host: Annotated[str, typer.Option(help="Loopback address to bind.")] = "127.0.0.1",
    latency_ms: Annotated[float, typer.Option(help="Added latency per request.")] = 0.0,
    rate_limit: Annotated[
        str | None, typer.Option(help="Per-token limit as N/SECONDS, e.g. 300/300.")
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of the simulation.")] = 0,
    timezone: Annotated[str, typer.Option(help="Audience time zone.")] = "Asia/Tokyo",
    history: Annotated[
        int, typer.Option(help="Statuses every account already has, one every 2 hours.")
    ] = 0,
    history_end: Annotated[
        str | None,
        typer.Option(help="When that history ends, ISO 8601 (default: local midnight today)."),
    ] = None,
    accounts: Annotated[
        str | None,
        typer.Option(help="Create accounts PREFIX0… at start-up, as PREFIX:COUNT."),
    ] = None,
) -> None:
    """Serve the sandbox on loopback for benchmarks and manual trials.

    Any bearer token 'sandbox-NAME' is an account; tokens starting with 'revoked' are refused.

    Example: brandkit sandbox serve --port 8765 --latency-ms 20 --rate-limit 300/300
    """
    try:
        limit = parse_rate_limit(rate_limit) if rate_limit else None
        end = http.parse_iso8601(history_end) if history_end else None
        if history_end and end is None:
            raise ValueError(f"--history-end {history_end!r} is not an ISO 8601 time")
        config = SandboxConfig(
            seed=seed,
            timezone=timezone,
            latency_ms=latency_ms,
            rate_limit=limit,
            history=history,
            history_end=end,
        )
        preload = parse_accounts(accounts) if accounts else []
        serve(host=host, port=port, config=config, preload=preload)
    except ValueError as exc:
        raise InvalidInputError(str(exc)) from exc

"""Run the sandbox as a real HTTP server, on loopback only (for benchmarks and manual poking).

The sandbox accepts any token and has no protection worth the name, so it refuses to listen on
anything but the local machine.
"""

from __future__ import annotations

import ipaddress
import math
import re
from collections.abc import Sequence

from brandkit.clock import SystemClock

from .app import create_app
from .records import SandboxConfig


def ensure_loopback(host: str) -> None:
    """Raise ``ValueError`` unless ``host`` is ``localhost``, 127.0.0.0/8 or ``::1``."""
    bare = host.strip().strip("[]")
    if bare.lower() == "localhost":
        return
    try:
        loopback = ipaddress.ip_address(bare).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise ValueError(
            f"refusing to serve the sandbox on {host!r}: it accepts any token, so it only "
            "listens on loopback — use 127.0.0.1, ::1 or localhost"
        )


def parse_rate_limit(value: str) -> tuple[int, float]:
    """``"300/300"`` → ``(300, 300.0)``: N requests per SECONDS per token."""
    problem = (
        f"invalid rate limit {value!r}: expected N/SECONDS with N a whole number of requests "
        "(1 or more) and SECONDS a positive number, e.g. 300/300"
    )
    count, slash, seconds = value.strip().partition("/")
    if not slash:
        raise ValueError(problem)
    try:
        requests = int(count.strip())
        period = float(seconds.strip())
    except ValueError as exc:
        raise ValueError(problem) from exc
    if requests < 1 or not math.isfinite(period) or period <= 0:
        raise ValueError(problem)
    return requests, period


def parse_accounts(value: str) -> list[str]:
    """``"bench:3"`` → ``["bench0", "bench1", "bench2"]``: usernames to create at start-up."""
    prefix, colon, count = value.strip().partition(":")
    problem = (
        f"invalid accounts {value!r}: expected PREFIX:COUNT with PREFIX letters, digits or _ "
        "and COUNT between 1 and 100000, e.g. bench:1000"
    )
    if not colon or not re.fullmatch(r"[A-Za-z0-9_]{1,24}", prefix) or not count.isdigit():
        raise ValueError(problem)
    if not 1 <= int(count) <= 100_000:
        raise ValueError(problem)
    return [f"{prefix}{i}" for i in range(int(count))]


def serve(
    *,
    host: str = "127.0.0.1",
    port: int,
    config: SandboxConfig,
    preload: Sequence[str] = (),
) -> None:
    """Serve the sandbox with the real clock until interrupted.

    ``preload`` names accounts (token ``sandbox-<name>``) created before the server listens,
    with their history, so a benchmark does not time their creation.
    """
    ensure_loopback(host)
    if not 0 <= port <= 65535:
        raise ValueError(f"port must be between 0 and 65535, not {port}")
    app = create_app(clock=SystemClock(), config=config)
    for username in preload:
        app.state.simulation.account(username)
    import uvicorn  # imported here: every CLI start would otherwise pay for it

    uvicorn.run(app, host=host.strip("[]"), port=port, log_level="warning", access_log=False)

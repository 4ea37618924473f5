"""Run the sandbox as a real HTTP server, on loopback only (for benchmarks and manual poking).

The sandbox accepts any token and has no protection worth the name, so it refuses to listen on
anything but the local machine.
"""

from __future__ import annotations

import ipaddress
import math

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


def serve(*, host: str = "127.0.0.1", port: int, config: SandboxConfig) -> None:
    """Serve the sandbox with the real clock until interrupted."""
    ensure_loopback(host)
    if not 0 <= port <= 65535:
        raise ValueError(f"port must be between 0 and 65535, not {port}")
    app = create_app(clock=SystemClock(), config=config)
    import uvicorn  # imported here: every CLI start would otherwise pay for it

    uvicorn.run(app, host=host.strip("[]"), port=port, log_level="warning", access_log=False)

"""Helpers the benchmarks share for a sandbox served on 127.0.0.1."""

from __future__ import annotations

import socket
import time

import httpx


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(url: str, deadline_s: float) -> None:
    """Poll ``url`` until the server answers, or give up after ``deadline_s`` seconds."""
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        try:
            httpx.get(url, timeout=0.5)
            return
        except httpx.TransportError:
            time.sleep(0.05)
    raise SystemExit(f"sandbox did not start at {url}")

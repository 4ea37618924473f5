"""The sandbox: a simulated Mastodon-compatible platform for the demo, the tests and benchmarks.

``create_app(clock=...)`` returns a Starlette app speaking a subset of Mastodon's REST API;
``Simulation`` is the seeded model of followers and engagement behind it, which responds to when
and what is posted; ``SandboxConfig`` sets its seed, audience time zone, latency and rate limit.
Any bearer token ``sandbox-<username>`` is that account; tokens starting with ``revoked`` are
refused.
"""

from __future__ import annotations

from .app import create_app
from .model import Engagement, ModelWeights
from .records import FaultKind, SandboxAccount, SandboxConfig, SandboxStatus, username_for_token
from .simulation import Simulation

__all__ = [
    "Engagement",
    "FaultKind",
    "ModelWeights",
    "SandboxAccount",
    "SandboxConfig",
    "SandboxStatus",
    "Simulation",
    "create_app",
    "username_for_token",
]

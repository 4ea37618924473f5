"""The whole job over real HTTP: the sandbox served on 127.0.0.1, driven through the CLI."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn

from brandkit.cli.main import main
from brandkit.clock import SystemClock
from brandkit.platforms.sandbox import SandboxConfig, Simulation, create_app


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def served_sandbox() -> Iterator[tuple[str, Simulation]]:
    clock = SystemClock()
    simulation = Simulation(SandboxConfig(seed=2), epoch=clock.now())
    app = create_app(clock=clock, simulation=simulation)
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    ready = threading.Event()
    for _ in range(500):  # wait for readiness, bounded; not a timing assumption
        if server.started:
            ready.set()
            break
        ready.wait(0.01)
    assert ready.is_set(), "sandbox server did not start"
    yield f"http://127.0.0.1:{port}", simulation
    server.should_exit = True
    thread.join(timeout=10)


def test_publish_sync_and_report_over_loopback(
    served_sandbox: tuple[str, Simulation],
    clean_environ: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    base_url, simulation = served_sandbox
    monkeypatch.setenv("SANDBOX_TOKEN", "sandbox-dr_loopback")
    assert main(["init", "--name", "Loopback Clinic", "--locale", "en"]) == 0
    assert (
        main(
            [
                "accounts",
                "add",
                "mastodon",
                "--name",
                "dr",
                "--base-url",
                base_url,
                "--token-env",
                "SANDBOX_TOKEN",
            ]
        )
        == 0
    )
    assert main(["accounts", "verify", "dr"]) == 0
    capsys.readouterr()
    assert (
        main(
            [
                "posts",
                "new",
                "--text",
                "Flu shots are available from today.",
                "--account",
                "dr",
                "--at",
                "now",
                "--json",
            ]
        )
        == 0
    )
    post_id = json.loads(capsys.readouterr()[0])["id"]
    assert main(["posts", "approve", str(post_id)]) == 0
    assert main(["worker", "--once", "--json"]) == 0
    capsys.readouterr()
    assert [s.text for s in simulation.statuses("dr_loopback")] == [
        "Flu shots are available from today."
    ]
    assert main(["posts", "list", "--json"]) == 0
    [row] = json.loads(capsys.readouterr()[0])
    assert row["state"] == "published" and row["url"].startswith(base_url)
    assert main(["worker", "--once"]) == 0  # nothing due: publishes nothing again
    assert len(simulation.statuses("dr_loopback")) == 1
    capsys.readouterr()
    assert main(["sync", "--all", "--json"]) == 0  # the worker synced it already: force
    [result] = json.loads(capsys.readouterr()[0])
    assert result["ok"] and result["followers"] > 0
    assert main(["report", "--format", "json"]) == 0
    report = json.loads(capsys.readouterr()[0])
    assert report["summary"]["posts_published"] == 1

"""The demo runs the real code paths, offline, and is deterministic for a seed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from brandkit.cli.main import main
from brandkit.demo import run_demo


async def test_demo_is_deterministic_and_reports_what_the_sandbox_said(tmp_path: Path) -> None:
    first = await run_demo(tmp_path / "a", weeks=2, seed=5)
    second = await run_demo(tmp_path / "b", weeks=2, seed=5)
    other = await run_demo(tmp_path / "c", weeks=2, seed=6)
    assert first.followers == second.followers
    assert first.states == second.states == {"published": 18}
    assert first.followers != other.followers
    html = first.report_path.read_text(encoding="utf-8")
    assert "<svg" in html and "さくら内科クリニック" in html
    for name, (start, end) in first.followers.items():
        assert end > start, name  # the sandbox's audience grows with regular posting


def test_demo_cli_refuses_a_used_directory(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "demo"
    assert main(["demo", "--dir", str(target), "--weeks", "1"]) == 0
    out, _ = capsys.readouterr()
    assert "report.html" in out and "dr-yamada" in out
    assert main(["--home", str(target), "report", "--json"]) == 0
    report = json.loads(capsys.readouterr()[0])
    assert report["summary"]["posts_published"] == 9
    assert main(["demo", "--dir", str(target)]) == 65
    assert "already holds a brandkit workspace" in capsys.readouterr()[1]
    assert main(["demo", "--dir", str(tmp_path / "x"), "--weeks", "0"]) == 65

"""``check()`` and ``brandkit check``: one result structure, meaningful exit codes."""

from __future__ import annotations

import io
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import brandkit
from brandkit.cli.main import main
from brandkit.content import check


def test_result_structure() -> None:
    result = brandkit.check("インフルエンザの予防接種を始めました。", platform="x", lang="ja")
    data = result.as_dict()
    assert set(data) >= {"platform", "length", "limit", "fits", "findings", "readability"}
    assert data["platform"] == "x" and data["limit"] == 280
    assert data["length"] == 38  # 19 CJK characters weigh 2 each on X
    assert data["fits"] is True and data["findings"] == []
    assert data["readability"]["lang"] == "ja" and data["readability"]["level"]


def test_a_long_draft_becomes_a_thread_where_the_platform_has_threads() -> None:
    text = "。".join(["熱中症は室内でも起こります"] * 30) + "。"
    result = check(text, platform="x", lang="ja")
    assert not result.fits and result.thread is not None
    assert all(check(part, platform="x", lang="ja").fits for part in result.thread)
    assert result.thread[0].endswith(f"（1/{len(result.thread)}）")
    [finding] = [f for f in result.findings if f.rule == "too_long"]
    assert finding.severity == "warning" and "スレッド" in finding.message


def test_too_long_without_threads_is_an_error_saying_by_how_much() -> None:
    result = check("a" * 3010, platform="linkedin", lang="en")
    [finding] = result.findings[:1]
    assert (finding.rule, finding.severity) == ("too_long", "error")
    assert "10 over LinkedIn's limit of 3000" in finding.message
    assert result.thread is None


def test_empty_text_is_an_error() -> None:
    result = check("  ", platform="mastodon", lang="en")
    assert not result.fits and result.findings[0].rule == "empty"


def test_readability_target_adds_a_warning_only_when_harder() -> None:
    hard = (
        "Pharmacotherapeutic interventions necessitate comprehensive individualized "
        "evaluation incorporating contraindications and pharmacokinetic considerations."
    )
    rules = [
        f.rule for f in check(hard, platform="x", lang="en", readability_target="patient").findings
    ]
    assert "readability" in rules
    easy = "Wash your hands. Drink water. Sleep well."
    assert check(easy, platform="x", lang="en", readability_target="patient").findings == []


@settings(max_examples=150, deadline=None)
@given(
    text=st.text(max_size=400),
    platform=st.sampled_from(
        ["x", "bluesky", "mastodon", "threads", "instagram", "facebook", "linkedin"]
    ),
)
def test_check_never_raises_and_offsets_stay_inside(text: str, platform: str) -> None:
    result = check(text, platform=platform)
    for f in result.findings:
        assert 0 <= f.start <= f.end <= len(text)


def run(capsys: pytest.CaptureFixture[str], *args: str, stdin: str = "") -> tuple[int, str, str]:
    import sys

    old = sys.stdin
    sys.stdin = io.StringIO(stdin)
    try:
        code = main(list(args))
    finally:
        sys.stdin = old
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_check_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "check", "--platform", "x", "--json", stdin="手洗いをしましょう。")
    assert code == 0 and json.loads(out)["fits"] is True
    code, out, _ = run(capsys, "check", "--platform", "x", "--json", stdin="このサプリで必ず治る。")
    assert code == 1
    assert any(f["severity"] == "error" for f in json.loads(out)["findings"])
    code, _, err = run(capsys, "check", "--platform", "myspace", stdin="x")
    assert code == 65 and "--platform 'myspace' is not known" in err
    code, _, err = run(capsys, "check", "/no/such/file", "--platform", "x")
    assert code == 65 and "cannot read /no/such/file" in err


def test_cli_check_jsonl_batch(capsys: pytest.CaptureFixture[str]) -> None:
    lines = "\n".join(
        [
            json.dumps({"text": "Wash your hands."}),
            "not json",
            json.dumps({"text": "A miracle cure for everyone!", "platform": "bluesky"}),
            json.dumps({"text": "手洗いをしましょう。", "lang": "ja"}),
        ]
    )
    code, out, _ = run(capsys, "check", "--jsonl", "--platform", "x", stdin=lines)
    results = [json.loads(line) for line in out.splitlines()]
    assert [r["line"] for r in results] == [1, 2, 3, 4]
    assert "error" in results[1] and results[2]["platform"] == "bluesky"
    assert any(f["rule"].startswith("en-") for f in results[2]["findings"])
    assert code == 2  # a malformed line is a usage error, reported on its own line

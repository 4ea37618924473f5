"""The template engine: forms per platform, typed variables, filters, sandboxing, clear errors."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from brandkit.content.filters import cut_sentences, format_date, hashtags
from brandkit.content.templates import TemplateLibrary
from brandkit.errors import NotFoundError, TemplateError

HEADER = """---
title: テスト
category: health_tip
platforms: [mastodon, x, linkedin]
variables:
  - {name: topic, type: str, example: 睡眠}
  - {name: day, type: date, required: false, example: "2026-11-24"}
  - {name: count, type: int, required: false, example: 3}
hashtags: [健康]
---
"""


def write(tmp_path: Path, body: str, *, header: str = HEADER, name: str = "t") -> TemplateLibrary:
    folder = tmp_path / "tpl" / "ja"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.j2").write_text(header + body, encoding="utf-8")
    return TemplateLibrary([tmp_path / "tpl"], include_builtin=False)


def render(lib: TemplateLibrary, platform: str = "mastodon", **variables: object) -> str:
    return lib.render(lib.get("ja/t"), {"topic": "睡眠", **variables}, platform=platform)


def test_forms_pick_a_block_per_platform(tmp_path: Path) -> None:
    lib = write(
        tmp_path,
        "{% block default %}普通:{{ topic }}{% endblock %}\n"
        "{% block short %}短:{{ topic }}{% endblock %}\n"
        "{% block long %}長:{{ topic }}です。{% endblock %}\n",
    )
    assert render(lib, "mastodon") == "普通:睡眠"
    assert render(lib, "x") == "短:睡眠"
    assert render(lib, "linkedin") == "長:睡眠です。"


def test_a_block_named_after_a_platform_wins(tmp_path: Path) -> None:
    lib = write(tmp_path, "{% block default %}d{% endblock %}{% block x %}x-only{% endblock %}")
    assert render(lib, "x") == "x-only"


def test_blocks_without_default_are_rejected(tmp_path: Path) -> None:
    lib = write(tmp_path, "{% block short %}s{% endblock %}")
    with pytest.raises(TemplateError, match="no '{% block default %}'"):
        lib.get("ja/t")


def test_typed_variables_and_filters(tmp_path: Path) -> None:
    lib = write(tmp_path, "{{ day | jdate }} {{ count + 1 }} {{ hashtags | hashtags }}")
    assert render(lib, day="2026-11-24", count="2") == "11月24日(火) 3 #健康"
    with pytest.raises(TemplateError, match="'count' = 'many' is not a valid int"):
        render(lib, day="2026-11-24", count="many")


def test_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    lib = write(tmp_path, "一行目\n{{ topic }\n")
    with pytest.raises(TemplateError) as info:
        lib.get("ja/t")
    message = str(info.value)
    assert "t.j2:12: unexpected" in message  # 10 lines of front matter, then line 2


def test_missing_variable_names_the_variable_and_template(tmp_path: Path) -> None:
    lib = write(tmp_path, "{{ topic }}")
    with pytest.raises(TemplateError, match=r"t\.j2: missing variable 'topic'"):
        lib.render(lib.get("ja/t"), {}, platform="mastodon")


def test_undeclared_undefined_variable_names_the_line(tmp_path: Path) -> None:
    lib = write(tmp_path, "ok\n{{ nothing_here }}\n")
    with pytest.raises(TemplateError, match=r"t\.j2:12: undefined variable: 'nothing_here'"):
        render(lib)


def test_unsupported_platform_lists_supported_ones(tmp_path: Path) -> None:
    lib = write(tmp_path, "{{ topic }}")
    with pytest.raises(TemplateError, match="supported platforms: mastodon, x, linkedin"):
        render(lib, "instagram")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b"---\ntitle: \xff\n---\nx", "not valid UTF-8"),
        (b"no front matter", "must start with a '---'"),
        (b"---\ntitle: x\ncategory: y\n", "not closed"),
        (b"---\ntitle: [unclosed\n---\nx", "front matter is not valid YAML"),
        (b"---\ncategory: y\n---\nx", "field 'title' is required"),
        (b"---\ntitle: x\ncategory: y\nplatforms: x\n---\nx", "'platforms' must be a list"),
        (
            b"---\ntitle: x\ncategory: y\nvariables: [{name: a, type: float}]\n---\n",
            "'variables[0].type' is 'float'",
        ),
        (
            b"---\ntitle: x\ncategory: y\nreadability_target: child\n---\n",
            "'readability_target' is 'child'",
        ),
    ],
)
def test_malformed_files_name_the_file_and_field(tmp_path: Path, raw: bytes, expected: str) -> None:
    folder = tmp_path / "tpl" / "ja"
    folder.mkdir(parents=True)
    (folder / "t.j2").write_bytes(raw)
    lib = TemplateLibrary([tmp_path / "tpl"], include_builtin=False)
    with pytest.raises(TemplateError) as info:
        lib.get("ja/t")
    assert expected in str(info.value) and "t.j2" in str(info.value)


def test_unknown_template_is_not_found(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError):
        TemplateLibrary().get("ja/does_not_exist")


def test_user_templates_shadow_builtins(tmp_path: Path) -> None:
    lib = write(tmp_path, "{{ topic }}だけ", name="health_tip")
    shadowing = TemplateLibrary([tmp_path / "tpl"])
    assert shadowing.get("ja/health_tip").path == tmp_path / "tpl" / "ja" / "health_tip.j2"
    assert "ja/health_tip" in lib.names()


@pytest.mark.parametrize(
    "body",
    [
        "{{ ''.__class__.__mro__ }}",
        "{{ topic.__class__.__subclasses__() }}",
        "{{ range(10**9) | list }}",
        "{% for x in range(10**9) %}{% endfor %}",
    ],
)
def test_the_sandbox_refuses_unsafe_templates(tmp_path: Path, body: str) -> None:
    lib = write(tmp_path, body)
    with pytest.raises(TemplateError):
        render(lib)


@given(st.text(max_size=200))
def test_any_variable_text_renders_verbatim(value: str) -> None:
    lib = TemplateLibrary()
    template = lib.get("ja/health_tip")
    text = lib.render(
        template,
        {"topic": value, "tip": "早く寝ましょう。", "reason": "休めます。"},
        platform="mastodon",
        context={"clinic": "c"},
    )
    assert value.strip() in text or not value.strip()


def test_filters() -> None:
    assert format_date(date(2026, 11, 24)) == "11月24日(火)"
    assert format_date(date(2026, 11, 24), "en") == "Tue 24 Nov"
    assert hashtags(["花粉症", "allergy tips", "#x", ""]) == "#花粉症 #allergytips #x"
    assert cut_sentences("一文目です。二文目です。三文目です。", 12) == "一文目です。二文目です。"
    assert cut_sentences("First one. Second one.", 12) == "First one."

"""The shipped template library (``templates/ja``, ``templates/en``): complete, clean, compliant.

Every template is rendered with its own example variables on every platform it claims, the way
``brandkit templates preview`` and the planner do, and the result goes through ``check()``: it
must fit the platform (counted the platform's way: X weighs CJK double) and carry no error
finding. A second pass renders with the required variables only and with the thin context the
CLI preview passes, so an optional variable or a missing profile never leaves "None", a dangling
line or an undefined-variable error behind.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml

from brandkit.content import PostTemplate, TemplateLibrary, check
from brandkit.content.templates import builtin_template_dir

LANGUAGES = ("ja", "en")
KNOWN_PLATFORMS = {"mastodon", "x", "bluesky", "threads", "facebook", "linkedin", "instagram"}
MIN_TEMPLATES_PER_LANGUAGE = 24

CONTEXTS: dict[str, dict[str, str]] = {
    "ja": {
        "clinic": "さくら内科クリニック",
        "doctor": "山田 花子",
        "specialty": "内科",
        "affiliation": "さくら内科クリニック 院長",
    },
    "en": {
        "clinic": "Maple Family Clinic",
        "doctor": "Dr. Hana Yamada",
        "specialty": "Family medicine",
        "affiliation": "Maple Family Clinic, Medical Director",
    },
}

# The topics the library promises, as categories (each must exist in both languages).
REQUIRED_CATEGORIES = {
    "seasonal",
    "health_tip",
    "myth_busting",
    "faq",
    "first_visit",
    "clinic_news",
    "conference",
    "paper",
    "study_session",
    "self_introduction",
    "team_introduction",
    "community_event",
    "recruitment",
    "career",
    "networking",
    "milestone",
}
# Topics that need more than one template (stems that must exist in both languages).
REQUIRED_STEMS = {
    # seasonal: the general alert plus one per major seasonal illness
    "seasonal_alert",
    "influenza_alert",
    "heatstroke_alert",
    "hay_fever_alert",
    "norovirus_alert",
    # clinic news: hours change, closure, new service
    "hours_change",
    "closure_notice",
    "new_service",
    # study sessions: announcement and report
    "study_session",
    "study_session_report",
}

# Names and variables used elsewhere (the demo, the CLI docs, users' calendars) must keep working.
LEGACY_VARIABLES = {
    "ja/health_tip": {"topic", "tip", "reason"},
    "ja/seasonal_alert": {"illness", "season_note", "prevention"},
    "ja/clinic_news": {"headline", "details"},
    "ja/conference_report": {"conference", "takeaway"},
    "ja/paper_intro": {"title", "finding", "url"},
    "ja/study_session": {"theme", "when", "place"},
    "en/health_tip": {"topic", "tip", "reason"},
    "en/clinic_news": {"headline", "details"},
}

# Wording a template must never produce, whatever the rule packs currently catch. Rendered text
# only: the descriptions may name these words to warn editors off them.
BANNED = {
    "ja": re.compile(
        r"絶対|必ず|100\s?[%％]|日本一|No\.?\s?1|ナンバーワン|最高|最新|最先端|名医|"
        r"体験談|患者様の声|患者さんの声|口コミ|今なら|今だけ|半額|期間限定|キャンペーン|"
        r"ビフォー|アフター|芸能人|有名人|安心・安全|痛くない|副作用(は|が)?ない",
        re.IGNORECASE,
    ),
    "en": re.compile(
        r"\bguarantee|\bcur(e|es|ed|ing)\b|\bmiracle|\bbest\b|#1\b|number one|world[- ]class|"
        r"\bproven\b|clinically|\btestimonial|limited[- ]time|\bhurry\b|\bdiscount|"
        r"% off|\bbefore[- ]and[- ]after\b|\bcelebrit|\brisk[- ]free|\bpainless|"
        r"state[- ]of[- ]the[- ]art|cutting[- ]edge|\bleading\b|\brevolutionary|\bbreakthrough",
        re.IGNORECASE,
    ),
}
# A patient's age or a "65-year-old man" style case description has no place in a template.
PATIENT_DETAIL = re.compile(r"\d+\s*歳|\d+[- ]years?[- ]old|\baged? \d+", re.IGNORECASE)
PLACEHOLDER = re.compile(r"〇〇|○○|××|XX|TODO|TBD|lorem|\{\{|\}\}|<[a-z_]+>", re.IGNORECASE)
JA_HASHTAG = re.compile(r"[\u3040-\u30ff\u3400-\u9fff]")
EN_HASHTAG = re.compile(r"^[A-Za-z][A-Za-z0-9]*$")
RESERVED_NAMES = {*CONTEXTS["ja"], "locale", "platform", "hashtags", "template"}
SNAKE_CASE = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")

LIBRARY = TemplateLibrary()
BUILTIN = builtin_template_dir()
TEMPLATES: list[PostTemplate] = [
    LIBRARY.load(path) for lang in LANGUAGES for path in sorted((BUILTIN / lang).glob("*.j2"))
]
CASES = [pytest.param(t, p, id=f"{t.name}@{p}") for t in TEMPLATES for p in t.platforms]


def stems(lang: str) -> set[str]:
    return {t.path.stem for t in TEMPLATES if t.language == lang}


def render(
    template: PostTemplate,
    platform: str,
    variables: Mapping[str, Any] | None = None,
    context: Mapping[str, Any] | None = None,
) -> str:
    ctx = context if context is not None else CONTEXTS[template.language]
    return LIBRARY.render(
        template,
        template.example_variables() if variables is None else variables,
        platform=platform,
        context={**ctx, "locale": template.language},
    )


def assert_publishable(text: str, template: PostTemplate, platform: str, how: str) -> None:
    where = f"{template.name} on {platform} ({how}):\n{text}"
    assert text.strip(), f"empty post: {where}"
    assert "{{" not in text and "}}" not in text and "{%" not in text, f"template syntax: {where}"
    assert "None" not in text, f"'None' leaked into {where}"
    assert "  " not in text, f"doubled space in {where}"
    assert "\n\n\n" not in text, f"more than one blank line in {where}"
    if platform in ("x", "bluesky"):
        assert "\n\n" not in text, f"blank line in a short form: {where}"
    assert not re.search(r"[ \t]+$", text, re.MULTILINE), f"trailing whitespace in {where}"
    assert not re.search(r"#(\s|$)", text), f"empty hashtag in {where}"
    if template.language == "ja":
        assert not re.search(r"[。、][。、]", text), f"doubled punctuation in {where}"
    else:
        assert not re.search(r"\s[.,;:!?]", text), f"space before punctuation in {where}"
        assert ".." not in text, f"doubled period in {where}"
    banned = BANNED[template.language].search(text)
    assert banned is None, f"banned wording {banned.group()!r} in {where}"
    detail = PATIENT_DETAIL.search(text)
    assert detail is None, f"patient detail {detail.group()!r} in {where}"

    result = check(
        text,
        platform=platform,
        lang=template.language,
        readability_target=template.readability_target,
    )
    assert result.fits, f"{result.length}/{result.limit} too long: {where}"
    errors = [
        f"{f.rule}: {text[f.start : f.end]!r}" for f in result.findings if f.severity == "error"
    ]
    assert not errors, f"{errors} in {where}"


# --- the library as a whole ------------------------------------------------------------------


def test_library_has_enough_templates_in_both_languages() -> None:
    for lang in LANGUAGES:
        assert len(stems(lang)) >= MIN_TEMPLATES_PER_LANGUAGE, (lang, sorted(stems(lang)))


def test_every_topic_exists_in_both_languages() -> None:
    assert stems("ja") == stems("en"), stems("ja") ^ stems("en")
    assert REQUIRED_STEMS <= stems("ja"), REQUIRED_STEMS - stems("ja")


def test_every_required_category_is_covered() -> None:
    for lang in LANGUAGES:
        covered = {t.category for t in TEMPLATES if t.language == lang}
        assert REQUIRED_CATEGORIES <= covered, (lang, REQUIRED_CATEGORIES - covered)
    seasonal = {t.path.stem for t in TEMPLATES if t.language == "ja" and t.category == "seasonal"}
    assert len(seasonal) >= 4, seasonal


def test_a_topic_has_the_same_category_and_variables_in_both_languages() -> None:
    by_name = {t.name: t for t in TEMPLATES}
    for stem in stems("ja"):
        ja, en = by_name[f"ja/{stem}"], by_name[f"en/{stem}"]
        assert ja.category == en.category, stem
        assert [(v.name, v.type, v.required) for v in ja.variables] == [
            (v.name, v.type, v.required) for v in en.variables
        ], stem


@pytest.mark.parametrize(("name", "variables"), sorted(LEGACY_VARIABLES.items()))
def test_existing_template_names_and_variables_keep_working(name: str, variables: set[str]) -> None:
    template = LIBRARY.get(name)
    assert variables <= {v.name for v in template.variables}
    required = {v.name for v in template.variables if v.required}
    assert required <= variables, f"{name} now requires {required - variables}"


def test_legacy_variable_types() -> None:
    study = {v.name: v for v in LIBRARY.get("ja/study_session").variables}
    assert study["when"].type == "date"
    paper = {v.name: v for v in LIBRARY.get("ja/paper_intro").variables}
    assert paper["url"].required is False


def test_demo_topics_still_render() -> None:
    """The demo fills the original Japanese templates from its own topic lists (on Mastodon)."""
    topics_file = Path(__file__).resolve().parents[1] / "brandkit" / "demo_topics.yaml"
    topics: dict[str, list[dict[str, Any]]] = yaml.safe_load(topics_file.read_text("utf-8"))
    for name, entries in topics.items():
        template = LIBRARY.get(name)
        for entry in entries:
            text = render(template, "mastodon", variables=entry)
            assert_publishable(text, template, "mastodon", f"demo topic {entry}")


# --- each template's front matter ------------------------------------------------------------


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda t: t.name)
def test_front_matter_is_complete(template: PostTemplate) -> None:
    assert template.language == template.path.parent.name
    assert template.title.strip()
    assert len(template.description) >= 40, "say who the template is for and when to use it"
    assert SNAKE_CASE.match(template.category), template.category
    assert template.platforms, "claim at least one platform"
    assert set(template.platforms) <= KNOWN_PLATFORMS, set(template.platforms) - KNOWN_PLATFORMS
    assert template.readability_target in ("patient", "general", "professional")
    assert 1 <= len(template.hashtags) <= 3, template.hashtags
    for tag in template.hashtags:
        if template.language == "ja":
            assert JA_HASHTAG.search(tag), f"Japanese hashtag expected, got {tag!r}"
        else:
            assert EN_HASHTAG.match(tag), f"one CamelCase word expected, got {tag!r}"


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda t: t.name)
def test_variables_have_descriptions_and_realistic_examples(template: PostTemplate) -> None:
    assert template.variables, "a template needs at least one variable"
    names = [v.name for v in template.variables]
    assert len(names) == len(set(names)), names
    for v in template.variables:
        assert v.description.strip(), f"{v.name}: describe the variable"
        assert v.example not in (None, "", []), f"{v.name}: give a realistic example"
        assert not PLACEHOLDER.search(str(v.example)), f"{v.name}: {v.example!r} is a placeholder"
        assert v.name not in RESERVED_NAMES, f"{v.name} shadows a context variable"
    # every example is valid for its declared type
    LIBRARY.variables_for(template, template.example_variables())


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda t: t.name)
def test_tight_and_long_platforms_get_their_own_form(template: PostTemplate) -> None:
    claimed = set(template.platforms)
    if claimed & {"x", "bluesky"}:
        assert "{% block short %}" in template.body, "X and Bluesky need a short form"
    if claimed & {"facebook", "linkedin"}:
        assert "{% block long %}" in template.body, "LinkedIn and Facebook need a long form"


# --- rendering on every claimed platform -----------------------------------------------------


@pytest.mark.parametrize(("template", "platform"), CASES)
def test_renders_publishable_text_with_examples(template: PostTemplate, platform: str) -> None:
    text = render(template, platform)
    assert_publishable(text, template, platform, "example variables")
    if platform in ("mastodon", "facebook", "linkedin"):  # the full forms use every variable
        for v in template.variables:
            if v.type in ("str", "url"):
                shown = str(v.example).rstrip("。.")
                assert shown in text, f"the {v.name} example does not appear on {platform}"


@pytest.mark.parametrize(("template", "platform"), CASES)
def test_renders_with_required_variables_only(template: PostTemplate, platform: str) -> None:
    required = {v.name: v.example for v in template.variables if v.required}
    text = render(template, platform, variables=required)
    assert_publishable(text, template, platform, "required variables only")


@pytest.mark.parametrize(("template", "platform"), CASES)
def test_renders_with_the_preview_context(template: PostTemplate, platform: str) -> None:
    """``brandkit templates preview`` passes only clinic, doctor and locale; a profile may be
    missing, in which case the planner passes an empty doctor name."""
    ctx = CONTEXTS[template.language]
    for context in ({"clinic": ctx["clinic"], "doctor": ctx["doctor"]}, {**ctx, "doctor": ""}):
        text = render(template, platform, context=context)
        assert_publishable(text, template, platform, f"context {sorted(context)}")

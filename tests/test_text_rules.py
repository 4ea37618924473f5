"""Per-platform text rules: lengths counted the platform's way, link and hashtag limits, threads,
LinkedIn's little-text escaping.

The twitter-text conformance suite and v3 configuration are read at run time from the shared
reference folder beside the repository (``../shared/reference/twitter-text``), never copied here.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from brandkit.content.entities import emoji_spans, find_hashtags, find_urls, grapheme_count
from brandkit.content.escaping import RESERVED, escape_little_text
from brandkit.content.length import (
    RULES,
    TWITTER_TEXT_V3,
    InstanceLimits,
    TwitterTextConfig,
    fits,
    measure,
    measure_post,
    parse_tweet,
    rules_for,
)
from brandkit.content.threads import number_part, split_into_thread
from brandkit.errors import InvalidInputError, UnknownPlatformError

REFERENCE = Path(__file__).parents[1].parent / "shared" / "reference" / "twitter-text"
MISSING = f"twitter-text reference data not found at {REFERENCE} (shared/ beside the repo)"
FAMILY = "👨\u200d👩\u200d👧\u200d👦"  # four people joined by three ZWJ: 25 UTF-8 bytes

# --- twitter-text conformance ------------------------------------------------------------------

# The suite's legacy ``tweets`` section predates weighting (140 characters, each one 1, URLs 23);
# WeightedTweetsCounterTest is v2 (v3 without emoji parsing); the other two are v3, as in
# twitter-text's own runners.
V1 = TwitterTextConfig(140, 1, 1, 23, (), emoji_parsing=False)
V2 = TwitterTextConfig(emoji_parsing=False)
SECTIONS = {
    "tweets": V1,
    "WeightedTweetsCounterTest": V2,
    "WeightedTweetsWithDiscountedEmojiCounterTest": TWITTER_TEXT_V3,
    "UnicodeDirectionalMarkerCounterTest": TWITTER_TEXT_V3,
}


def conformance_cases() -> list[Any]:
    path = REFERENCE / "validate.yml"
    if not path.is_file():
        return [pytest.param(None, None, marks=pytest.mark.skip(reason=MISSING), id="missing")]
    tests = yaml.safe_load(path.read_text(encoding="utf-8"))["tests"]
    return [
        pytest.param(section, case, id=f"{section}: {case['description']}")
        for section in SECTIONS
        for case in tests[section]
    ]


@pytest.mark.parametrize(("section", "case"), conformance_cases())
def test_twitter_text_conformance(section: str, case: dict[str, Any]) -> None:
    result = parse_tweet(case["text"], SECTIONS[section])
    expected = case["expected"]
    if isinstance(expected, bool):
        assert result.valid is expected
    else:
        got = (result.weighted_length, result.valid, result.permillage)
        assert got == (expected["weightedLength"], expected["valid"], expected["permillage"])


def test_v3_constants_match_the_published_configuration() -> None:
    path = REFERENCE / "config-v3.json"
    if not path.is_file():
        pytest.skip(MISSING)
    published = TwitterTextConfig.from_json(json.loads(path.read_text(encoding="utf-8")))
    assert published == TWITTER_TEXT_V3
    assert published.max_weighted_length == rules_for("x").limit


# --- every platform, Japanese and English, counted by hand --------------------------------------

JA = "こんにちは、世界。"  # 9 characters, all outside twitter-text's light ranges, 27 UTF-8 bytes
EN = "Hello, world!"  # 13 ASCII characters


@pytest.mark.parametrize(
    ("platform", "text", "length"),
    [
        ("x", JA, 18),
        ("x", EN, 13),
        ("x", "予約は https://example.com/book から", 6 + 1 + 23 + 1 + 4),
        ("x", "Book at clinic.example.jp today", 8 + 23 + 6),  # a bare domain links on X
        ("x", FAMILY + "🇯🇵❤️\u200d🔥🫠", 8),  # each emoji sequence 2, Unicode 13–14 ones too
        ("x", "e\u0301", 1),  # NFC: é
        ("x", "“quotes” — dash…", 15 + 2),  # U+2010–201F weigh 1, the ellipsis U+2026 2
        ("bluesky", JA, 9),
        ("bluesky", "Hello 👋🏽", 7),
        ("bluesky", "https://example.com/a/long/path", 31),  # links count in full
        ("mastodon", JA, 9),
        ("mastodon", EN, 13),
        ("mastodon", "予約: https://example.com/a/very/long/path/that/goes/on", 4 + 23),
        ("mastodon", "@dr_tanaka@mstdn.jp さん、ありがとう", 10 + 1 + 8),
        ("mastodon", "see example.com", 15),  # no protocol: not a link on Mastodon
        ("mastodon", FAMILY + " 🇯🇵", 3),
        ("threads", JA, 9),
        ("threads", "Hi 😷", 3 + 4),  # an emoji counts its UTF-8 bytes
        ("threads", "❤️ " + FAMILY, 6 + 1 + 25),
        ("instagram", JA, 9),
        ("instagram", EN, 13),
        ("facebook", JA, 9),
        ("facebook", EN, 13),
        ("linkedin", "お問い合わせ（平日）", 10),
        ("linkedin", "Call us (9-5) #health_tips", 26),  # escaping is not counted
    ],
)
def test_lengths_counted_the_platforms_way(platform: str, text: str, length: int) -> None:
    assert measure(text, platform) == length
    assert measure_post(text, platform).length == length


@pytest.mark.parametrize(("platform", "limit"), [
    ("x", 280), ("bluesky", 300), ("mastodon", 500), ("threads", 500),
    ("instagram", 2200), ("facebook", 63206), ("linkedin", 3000),
])  # fmt: skip
def test_limits_and_exactly_at_the_limit(platform: str, limit: int) -> None:
    assert rules_for(platform).limit == limit
    assert fits("a" * limit, platform) and measure_post("a" * limit, platform).fits
    over = measure_post("a" * (limit + 1), platform)
    assert [(p.code, p.over, p.limit) for p in over.problems] == [("too_long", 1, limit)]


def test_messages_in_japanese_and_english() -> None:
    text = "a" * 317
    ja, en = measure_post(text, "x", lang="ja"), measure_post(text, "x", lang="en")
    assert ja.problems[0].message == "X の上限 280 を 37 超えています"
    assert en.problems[0].message == "37 over X's limit of 280"
    hashtags = measure_post(" ".join(f"#tag{i}" for i in range(7)), "instagram", lang="ja")
    assert hashtags.problems[0].message == "Instagram のハッシュタグの上限 5個 を 2個 超えています"


def test_unknown_platform_names_the_known_ones() -> None:
    with pytest.raises(UnknownPlatformError) as caught:
        rules_for("myspace")
    assert "myspace" in str(caught.value)
    assert all(name in str(caught.value) for name in RULES)


# --- links and hashtags ------------------------------------------------------------------------


def urls(text: str, **kwargs: bool) -> list[str]:
    return [text[s:e] for s, e in find_urls(text, **kwargs)]


def test_links_are_found_as_twitter_text_finds_them() -> None:
    assert urls("詳しくはclinic.example.jpへ") == ["clinic.example.jp"]
    assert urls("（https://example.com/a_b）。") == ["https://example.com/a_b"]
    assert urls("See https://example.com/path.") == ["https://example.com/path"]
    assert urls("「https://例え.jp/予約」") == ["https://例え.jp/"]
    assert urls("Dr.Tanaka ver.2 3.5mg e.g. foo@example.com") == []  # no TLD, or an email
    assert urls("x.com https://t.co/abc") == ["x.com", "https://t.co/abc"]
    assert urls("https://a.example (a reserved name, no TLD)") == []
    assert urls("see example.com or https://a.example.org", without_protocol=False) == [
        "https://a.example.org"
    ]


def test_hashtags_are_found_as_twitter_text_finds_them() -> None:
    text = "#健康 #flu_shot C# #123 ＃花粉症 https://example.com/#top"
    assert [text[s:e] for s, e in find_hashtags(text)] == ["#健康", "#flu_shot", "＃花粉症"]


def test_threads_allows_five_distinct_links_and_tags_only_one_hashtag() -> None:
    six = " ".join(f"https://example.com/{i}" for i in range(6))
    result = measure_post(six, "threads", lang="en")
    assert (result.links, result.fits) == (6, False)
    assert [(p.code, p.over) for p in result.problems] == [("too_many_links", 1)]
    assert measure_post("https://example.com " * 6, "threads").fits  # one link, six times
    tags = measure_post("#インフルエンザ #予防接種", "threads", lang="ja")
    assert tags.fits and tags.problems[0].severity == "warning"
    assert tags.problems[0].message.endswith("（最初の 1 つだけがタグになります）")


def test_instagram_allows_five_hashtags() -> None:
    assert measure_post("#a #b #c #d #e", "instagram").fits
    result = measure_post("#a #b #c #d #e #f", "instagram")
    assert [(p.code, p.over, p.limit) for p in result.problems] == [("too_many_hashtags", 1, 5)]


def test_x_rejects_invalid_characters() -> None:
    result = measure_post("ok\ufffe", "x")
    assert [p.code for p in result.problems] == ["invalid_characters"]
    assert "U+FFFE" in result.problems[0].message


# --- Mastodon ----------------------------------------------------------------------------------


def test_mastodon_counts_mentions_by_username_and_links_as_23() -> None:
    text = "@dr_tanaka@mstdn.jp @nurse 予約 https://clinic.example.jp/reserve?from=mastodon"
    assert measure(text, "mastodon") == len("@dr_tanaka @nurse 予約 ") + 23
    assert measure("mail me: a@b.jp", "mastodon") == 15  # not a mention: @ follows a letter


def test_mastodon_instance_limits_override() -> None:
    instance = InstanceLimits(max_characters=1000, characters_reserved_per_url=30)
    text = "a" * 900 + " https://example.com/x"
    assert measure(text, "mastodon", instance=instance) == 931
    assert measure_post(text, "mastodon", instance=instance).fits
    assert not measure_post(text, "mastodon").fits
    assert rules_for("mastodon", instance=InstanceLimits()).limit == 500


# --- Bluesky: graphemes and bytes --------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "graphemes", "size"),
    [
        (FAMILY, 1, 25),
        ("👩🏽\u200d⚕️", 1, 17),  # skin tone, ZWJ, presentation selector
        ("🇯🇵🇺🇸", 2, 16),  # two flags, not one and not four
        ("🇯🇵🇺", 2, 12),  # a lone regional indicator is its own grapheme
        ("e\u0301", 1, 3),  # combining acute accent
        ("か\u3099", 1, 6),  # が, decomposed
        ("\u1100\u1161\u11a8", 1, 9),  # 각 as Hangul jamo
        ("क्षि", 1, 12),  # a Devanagari conjunct (Unicode 15.1)
        ("1\ufe0f\u20e3", 1, 7),  # keycap
        ("\r\n", 1, 2),
    ],
)
def test_bluesky_counts_graphemes(text: str, graphemes: int, size: int) -> None:
    assert grapheme_count(text) == graphemes
    result = measure_post(text, "bluesky")
    assert (result.length, result.utf8_bytes) == (graphemes, size)


def test_bluesky_bytes_limit() -> None:
    families = measure_post(FAMILY * 121, "bluesky", lang="en")  # 121 graphemes, 3,025 bytes
    assert [(p.code, p.over) for p in families.problems] == [("too_many_bytes", 25)]
    assert families.problems[0].message == "25 UTF-8 bytes over Bluesky's limit of 3000 UTF-8 bytes"
    wide = measure_post("𠮷" * 751, "bluesky")  # 4-byte characters: 751 graphemes, 3,004 bytes
    assert [(p.code, p.over) for p in wide.problems] == [("too_long", 451), ("too_many_bytes", 4)]
    assert not fits(FAMILY * 121, "bluesky")


def test_emoji_sequences() -> None:
    text = f"a{FAMILY}b🙋🏽#️⃣😷️"
    assert [text[s:e] for s, e in emoji_spans(text)] == [FAMILY, "🙋🏽", "#️⃣", "😷"]


def test_measurement_as_dict() -> None:
    result = measure_post("#健康 https://example.com", "bluesky", lang="ja").as_dict()
    assert result["links"] == 1 and result["hashtags"] == 1 and result["fits"] is True
    assert result["utf8_bytes"] == 27 and result["max_bytes"] == 3000


# --- properties --------------------------------------------------------------------------------


@settings(max_examples=300)
@given(st.text(), st.sampled_from(sorted(RULES)))
def test_measuring_never_raises(text: str, platform: str) -> None:
    result = measure_post(text, platform, lang="ja")
    assert result.length == measure(text, platform) >= 0
    assert result.fits == all(p.severity == "warning" for p in result.problems)


WORDS = st.sampled_from([
    "予約", "受付を開始しました", "インフルエンザ", "health", "check-up", "today", "😷", FAMILY,
    "🇯🇵", "e\u0301", "https://clinic.example.jp/flu2026", "example.com/path", "#健康",
    "#flu_shot", "@dr_tanaka@mstdn.jp", "1,000", "10:30", "Dr.", "（院長）", "“quote”",
])  # fmt: skip
GLUE = st.sampled_from([" ", "", "、", "。", ". ", "! ", "？", "\n", "\n\n", ", ", "　"])
DRAFTS = st.one_of(  # short ones that fit, and long ones that need a thread
    st.lists(st.tuples(WORDS, GLUE), max_size=20),
    st.lists(st.tuples(WORDS, GLUE), min_size=40, max_size=200),
).map(lambda pairs: "".join(word + glue for word, glue in pairs))
LABEL = {"ja": re.compile(r"（(\d+)/(\d+)）\Z"), "en": re.compile(r"\A(\d+)/(\d+) ")}


def unnumbered(parts: list[str], lang: str) -> list[str]:
    """The parts without their numbers, checking that they run 1…n."""
    bodies = []
    for i, part in enumerate(parts, 1):
        label = LABEL[lang].search(part)
        assert label is not None and label.groups() == (str(i), str(len(parts)))
        bodies.append(part[: label.start()] if lang == "ja" else part[label.end() :])
    return bodies


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    DRAFTS, st.sampled_from(["x", "bluesky", "mastodon", "threads"]), st.sampled_from(["ja", "en"])
)
def test_threads_fit_rejoin_and_keep_links_whole(text: str, platform: str, lang: str) -> None:
    parts = split_into_thread(text, platform, lang=lang)
    assert all(fits(part, platform) for part in parts)
    if len(parts) <= 1:
        assert parts == ([text] if text.strip() else [])
        return
    cuts, at = [], 0
    for body in unnumbered(parts, lang):  # the bodies are the text, in order, less whitespace
        at += len(text[at:]) - len(text[at:].lstrip())
        assert body and text.startswith(body, at)
        at += len(body)
        cuts.append(at)
    assert not text[at:].strip()
    for start, end in find_urls(text) + find_hashtags(text):
        assert not any(start < cut < end for cut in cuts), text[start:end]


def test_thread_numbering_conventions() -> None:
    assert number_part("本文", 1, 3, "ja") == "本文（1/3）"
    assert number_part("Body", 2, 3, "en") == "2/3 Body"
    text = "インフルエンザ予防接種の予約を受け付けています。" * 20
    parts = split_into_thread(text, "x", lang="ja")
    assert len(parts) == 4 and all(measure(p, "x") <= 280 for p in parts)
    assert parts[0].endswith("。（1/4）")  # cut after a sentence


def test_a_sentence_longer_than_a_post_is_cut_at_a_clause_then_a_grapheme() -> None:
    clauses = "、".join(["予防接種の予約は電話で受け付けます"] * 30) + "。"
    parts = split_into_thread(clauses, "x", lang="ja")
    assert all(re.search(r"、（\d+/\d+）\Z", p) for p in parts[:-1])
    unbroken = "あ" * 300 + FAMILY * 10
    parts = split_into_thread(unbroken, "bluesky", lang="en")
    assert "".join(unnumbered(parts, "en")) == unbroken  # graphemes kept whole
    assert all(fits(p, "bluesky") for p in parts)


def test_threads_refused_where_the_platform_has_none() -> None:
    assert split_into_thread("short", "instagram", lang="en") == ["short"]
    with pytest.raises(InvalidInputError, match="Instagram has no threads"):
        split_into_thread("a" * 2201, "instagram", lang="en")
    with pytest.raises(InvalidInputError, match="LinkedIn はスレッド投稿ができません"):
        split_into_thread("あ" * 3001, "linkedin", lang="ja")


def test_a_link_longer_than_a_post_cannot_be_split() -> None:
    link = "https://example.com/" + "a" * 400
    with pytest.raises(InvalidInputError, match="cannot fit in one post"):
        split_into_thread(f"See {link} now. " * 2, "bluesky", lang="en")
    assert len(split_into_thread(f"See {link} now. " * 20, "x", lang="en")) > 1  # 23 on X


# --- LinkedIn little text ----------------------------------------------------------------------

_R = re.escape(RESERVED)
_TEMPLATE = re.compile(r"\{hashtag\|(\\#|＃)\|((?:\\.|[^\\}])*)\}", re.DOTALL)
_WELL_FORMED = re.compile(
    rf"(?:\\[{_R}]|\{{hashtag\|(?:\\#|＃)\|(?:\\[{_R}]|[^{_R}])*\}}|[^{_R}])*", re.DOTALL
)


def unescape(little: str) -> str:
    """Little text back to plain text: templates to hashtags, then backslash escapes dropped."""
    plain = _TEMPLATE.sub(lambda m: ("#" if m[1] == "\\#" else "＃") + m[2], little)
    return re.sub(r"\\(.)", r"\1", plain, flags=re.DOTALL)


def test_little_text_escaping() -> None:
    assert escape_little_text("Call (9-5) & ask @front_desk ~ *free*") == (
        r"Call \(9-5\) & ask \@front\_desk \~ \*free\*"
    )
    assert escape_little_text("予防接種 #インフルエンザ #flu_shot") == (
        r"予防接種 {hashtag|\#|インフルエンザ} {hashtag|\#|flu\_shot}"
    )
    assert escape_little_text("#健康", hashtags=False) == r"\#健康"
    assert escape_little_text(r"a\b|c") == r"a\\b\|c"


@settings(max_examples=300)
@given(
    st.text(alphabet=st.sampled_from([*RESERVED, "a", "健", " ", "＃", "_", ".", "/", ":"]))
    | st.text(),
    st.booleans(),
)
def test_little_text_round_trip(text: str, hashtags: bool) -> None:
    little = escape_little_text(text, hashtags=hashtags)
    assert unescape(little) == text
    assert _WELL_FORMED.fullmatch(little)

"""The medical-advertising lint, measured on a labelled corpus of posts.

Every sentence lists exactly the findings it must produce, as (rule id, flagged text), so one
corpus checks the rule ids, the offsets and, through precision and recall, the balance between
flagging too much (advice such as "Always call 911" is not a claim) and too little.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from brandkit.content.compliance import (
    RULES_DIR,
    Document,
    RulePackError,
    load_rule_pack,
    rules_for_language,
    scan,
)
from tests.corpus_scoring import precision_and_recall

Expected = list[tuple[str, str]]

JA: list[tuple[str, Expected]] = [
    # 虚偽広告
    ("当院の治療は絶対安全です。", [("ja-false-guarantee", "絶対安全")]),
    ("この治療なら必ず治ります！", [("ja-false-guarantee", "必ず治")]),
    ("100%安全な手術です。", [("ja-false-guarantee", "100%安全")]),
    ("１００％安全な手術です。", [("ja-false-guarantee", "１００％安全")]),
    (
        "どんなに難しい症例でも必ず成功させます。",
        [("ja-false-guarantee", "どんなに難しい症例でも必ず成功")],
    ),
    ("治療効果を保証します。", [("ja-false-guarantee", "効果を保証")]),
    ("副作用は一切ありません。", [("ja-false-no-risk", "副作用は一切ありません")]),
    ("全く痛くない脱毛です。", [("ja-false-no-risk", "全く痛くない")]),
    ("患者満足度98%を誇ります。", [("ja-unsupported-rate", "満足度98%")]),
    ("手術の成功率は99.5%です。", [("ja-unsupported-rate", "成功率は99.5%")]),
    # 比較優良広告
    ("日本一の技術を誇ります。", [("ja-comparative", "日本一")]),
    ("地域No.1のクリニックです。", [("ja-comparative", "No.1")]),
    ("当院は地域で一番の治療を提供します。", [("ja-comparative", "地域で一番")]),
    ("他院と比べて痛みが少ない治療です。", [("ja-comparative", "他院と比べて")]),
    ("最高の医療をご提供します。", [("ja-comparative", "最高の医療")]),
    ("人気ランキング第1位に選ばれました。", [("ja-comparative", "人気ランキング第1位に選ばれ")]),
    # 誇大広告
    ("奇跡の治療法です。", [("ja-exaggeration", "奇跡の")]),
    ("画期的な治療で若返ります。", [("ja-exaggeration", "画期的な治療")]),
    ("たった1回で効果を実感できます。", [("ja-exaggeration", "たった1回で効果")]),
    ("最新の医療機器を導入しました。", [("ja-latest", "最新の医療")]),
    # 体験談
    ("患者様の声をご紹介します。", [("ja-testimonial", "患者様の声")]),
    (
        "「痛くなかった」とのお声をいただきました。",
        [("ja-testimonial", "「痛くなかった」とのお声")],
    ),
    ("体験談を掲載しています。", [("ja-testimonial", "体験談")]),
    (
        "口コミ投稿で施術料金10%オフ！",
        [
            ("ja-incentivised-review", "口コミ投稿で施術料金10%オフ"),
            ("ja-price-emphasis", "10%オフ"),
        ],
    ),
    # ビフォーアフター
    ("ビフォーアフター写真を公開中です。", [("ja-before-after", "ビフォーアフター")]),
    ("症例写真をご覧ください。", [("ja-before-after", "症例写真")]),
    # 品位を損ねる内容
    ("今なら半額でご案内できます。", [("ja-price-emphasis", "今なら半額")]),
    ("期間限定20%オフで受けられます。", [("ja-price-emphasis", "期間限定20%オフ")]),
    ("脱毛し放題プランが人気です。", [("ja-price-unlimited", "し放題")]),
    ("モニター価格で施術を受けられます。", [("ja-monitor-discount", "モニター価格")]),
    (
        "ご来院いただいた方にプレゼントをご用意しました。",
        [("ja-unrelated-inducement", "来院いただいた方にプレゼント")],
    ),
    # 芸能人・広告可能事項以外・公序良俗
    ("芸能人も通うクリニックです。", [("ja-celebrity", "芸能人も通う")]),
    ("国内未承認の新薬で高い効果が期待できます。", [("ja-unapproved", "未承認")]),
    ("GLP-1ダイエットで無理なく痩せましょう。", [("ja-offlabel-diet", "GLP-1ダイエット")]),
    ("診察なしでお薬を処方します。", [("ja-public-order", "診察なしでお薬")]),
    # hard negatives: advice, statistics, negation, disclosures
    ("自己判断で絶対にやめないでください。", []),
    ("死因の第1位はがんです。", []),
    ("必ず医師に相談してください。", []),
    ("必ず治るとは限りません。", []),
    ("副作用がないわけではありません。", []),
    ("ほとんどの方は副作用がありません。", []),
    ("どんな薬にも副作用のリスクがあります。", []),
    ("奇跡の治療法はありません。", []),
    ("患者さんの声を大切にしています。", []),
    ("インフルエンザワクチンの接種は期間限定です。", []),
    ("当院では期間限定の割引は行っていません。", []),
    ("診察なしでお薬を出すことはできません。", []),
    ("未承認の治療は行っていません。", []),
    (
        "症例写真を掲載しました。施術内容：二重埋没法、費用：10万円、リスク：腫れ・内出血。",
        [],
    ),
    ("術前術後の注意点をお伝えします。", []),
    ("2024年4月に最新の超音波診断装置を導入しました。", []),
    ("日本人の死因の割合は、がんが最も高くなっています。", []),
    ("一番大切なのは早期発見です。", []),
    ("12月29日から1月3日まで休診いたします。", []),
    ("料金は税込3,300円です。", []),
    ("寝る1時間前にはスマートフォンを置きましょう。", []),
    ("手洗いと十分な睡眠、ワクチン接種で備えましょう。", []),
    ("日本一周を達成したスタッフがいます。", []),
    ("体験談の掲載はしておりません。", []),
    ("最高気温が35度を超える日は外出を控えましょう。", []),
    ("100%果汁のジュースは糖分が多いので注意しましょう。", []),
]

EN: list[tuple[str, Expected]] = [
    ("We guarantee results with every treatment.", [("en-guarantee", "guarantee results")]),
    ("Guaranteed to work or your money back.", [("en-guarantee", "Guaranteed to work")]),
    ("Results are guaranteed.", [("en-guarantee", "Results are guaranteed")]),
    ("Our fillers are 100% safe.", [("en-guarantee", "100% safe")]),
    ("Botox with no side effects!", [("en-no-risk", "no side effects")]),
    ("Our laser is completely safe and painless.", [("en-no-risk", "completely safe")]),
    ("Our treatments are risk-free.", [("en-no-risk", "risk-free")]),
    ("This cream cures acne.", [("en-cure", "This cream cures acne")]),
    ("We can cure your back pain.", [("en-cure", "We can cure your back pain")]),
    ("Try our miracle cure for wrinkles!", [("en-miracle", "miracle cure")]),
    ("This serum works miracles!", [("en-miracle", "works miracles")]),
    ("A revolutionary treatment for hair loss.", [("en-hype", "revolutionary treatment")]),
    (
        "A breakthrough therapy with instant results.",
        [("en-hype", "breakthrough therapy"), ("en-hype", "instant results")],
    ),
    ("Voted best clinic in Brooklyn!", [("en-superlative", "Voted best clinic in Brooklyn")]),
    ("We are the #1 clinic in town.", [("en-superlative", "#1")]),
    ("Our world-class surgeons are here for you.", [("en-superlative", "world-class")]),
    ("We provide the best care.", [("en-superlative-self", "best care")]),
    (
        "Clinically proven to reduce wrinkles.",
        [("en-clinically-proven", "Clinically proven to reduce")],
    ),
    (
        "98% of our patients were satisfied.",
        [("en-unsupported-rate", "98% of our patients were satisfied")],
    ),
    ("We offer a 95% success rate.", [("en-unsupported-rate", "95% success rate")]),
    ("Read our patient testimonials.", [("en-testimonial", "testimonials")]),
    ("Hear from our happy patients!", [("en-testimonial", "Hear from our happy patients")]),
    (
        "She lost 40 pounds in just 6 weeks!",
        [("en-atypical-results", "lost 40 pounds"), ("en-atypical-results", "in just 6 weeks")],
    ),
    (
        "Her migraines are gone after one session!",
        [("en-atypical-results", "Her migraines are gone")],
    ),
    (
        "Leave us a 5-star review and get 10% off your next visit.",
        [("en-incentivised-review", "Leave us a 5-star review and get 10% off")],
    ),
    ("Book your Botox appointment today.", [("en-pom", "Botox")]),
    ("Ozempic now available for weight loss, book today.", [("en-pom", "Ozempic")]),
    (
        "Get Viagra with no prescription needed.",
        [("en-pom", "Viagra"), ("en-no-prescription", "no prescription needed")],
    ),
    ("Limited time only! 30% off all laser treatments this week.", [("en-discount", "30% off")]),
    ("Sponsored by GlowSkin, try their new serum.", [("en-undisclosed-paid", "Sponsored by")]),
    (
        "In partnership with BrightSmile, we're giving away whitening kits.",
        [("en-undisclosed-paid", "In partnership with")],
    ),
    ("The celebrities' favourite clinic.", [("en-celebrity", "celebrities' favourite")]),
    ("As seen on TV!", [("en-celebrity", "As seen on")]),
    ("Loved by celebrities and influencers.", [("en-celebrity", "Loved by celebrities")]),
    # hard negatives: advice, statistics, negation, substantiation, disclosure
    ("Always call 911 if you have chest pain.", []),
    ("No treatment is 100% safe.", []),
    ("No doctor can guarantee results.", []),
    ("The best way to prevent flu is vaccination.", []),
    ("The best treatment for a cold is rest.", []),
    ("There is no miracle cure.", []),
    ("Miracle cures don't exist.", []),
    ("90% of cases resolve on their own.", []),
    ("According to the CDC, 80% of patients recover within a week.", []),
    ("Heart disease is the #1 cause of death.", []),
    ("There is no cure for the common cold.", []),
    ("Scientists are still searching for a cure for Alzheimer's.", []),
    ("Most people have no side effects.", []),
    ("Is it completely safe?", []),
    ("We want the best care for you.", []),
    ("Clinically proven to reduce wrinkles (Smith et al., 2021, JAMA).", []),
    ("You cannot get antibiotics without a prescription.", []),
    ("Over-the-counter painkillers can be bought without a prescription.", []),
    ("Don't buy Ozempic online without a prescription.", []),
    ("Ozempic shortages: talk to your doctor before switching.", []),
    ("#ad Sponsored by GlowSkin.", []),
    ("Put your phone away an hour before bed.", []),
    ("If symptoms persist, talk to your doctor.", []),
    ("We are closed from 29 December to 3 January.", []),
    ("The number one thing you can do is quit smoking.", []),
    ("Sponsored by the city health department, our free screening runs Saturday.", []),
    ("This vaccine is proven to reduce hospital stays, according to a CDC study.", []),
    ("Our goal is the best possible care for every patient.", []),
    ("Vaccines are one of the safest tools we have.", []),
    ("Is there a cure for the common cold? Sadly, no.", []),
    ("A miracle of modern medicine: vaccines saved millions of lives.", []),
    ("We can't guarantee an appointment on the same day, but we'll try our best.", []),
]

CORPUS = [("ja", text, expected) for text, expected in JA] + [
    ("en", text, expected) for text, expected in EN
]

CATEGORIES = {
    "ja-false-guarantee": "false_claim",
    "ja-false-no-risk": "false_claim",
    "ja-unsupported-rate": "false_claim",
    "ja-comparative": "comparative",
    "ja-exaggeration": "exaggeration",
    "ja-latest": "exaggeration",
    "ja-testimonial": "testimonial",
    "ja-incentivised-review": "testimonial",
    "ja-before-after": "before_after",
    "ja-price-emphasis": "price",
    "ja-price-unlimited": "price",
    "ja-monitor-discount": "price",
    "ja-unrelated-inducement": "inducement",
    "ja-celebrity": "celebrity",
    "ja-unapproved": "not_permitted",
    "ja-offlabel-diet": "not_permitted",
    "ja-public-order": "public_order",
    "en-guarantee": "false_claim",
    "en-no-risk": "false_claim",
    "en-cure": "false_claim",
    "en-miracle": "exaggeration",
    "en-hype": "exaggeration",
    "en-superlative": "comparative",
    "en-superlative-self": "comparative",
    "en-clinically-proven": "false_claim",
    "en-unsupported-rate": "false_claim",
    "en-testimonial": "testimonial",
    "en-atypical-results": "testimonial",
    "en-incentivised-review": "testimonial",
    "en-pom": "not_permitted",
    "en-no-prescription": "not_permitted",
    "en-discount": "price",
    "en-undisclosed-paid": "endorsement",
    "en-celebrity": "celebrity",
}


def found(text: str, lang: str) -> Expected:
    return sorted((f.rule, text[f.start : f.end]) for f in scan(text, lang))


def test_corpus_has_enough_sentences_in_each_language() -> None:
    assert len(JA) >= 40 and len(EN) >= 40
    assert sum(not e for _, e in JA) >= 15 and sum(not e for _, e in EN) >= 15


@pytest.mark.parametrize(("lang", "text", "expected"), CORPUS, ids=[t[:24] for _, t, _ in CORPUS])
def test_each_sentence_gives_exactly_its_findings(lang: str, text: str, expected: Expected) -> None:
    assert found(text, lang) == sorted(expected)
    for finding in scan(text, lang):
        assert finding.category == CATEGORIES[finding.rule]
        assert finding.message and finding.source


def test_precision_and_recall_on_the_corpus() -> None:
    precision, recall = precision_and_recall(
        ({rule for rule, _ in expected}, {rule for rule, _ in found(text, lang)})
        for lang, text, expected in CORPUS
    )
    assert precision >= 0.95, precision
    assert recall >= 0.95, recall


def test_every_rule_is_triggered_by_the_corpus_and_has_its_category() -> None:
    rules = {r.id: r for lang in ("ja", "en") for r in rules_for_language(lang)}
    triggered = {rule for _, _, expected in CORPUS for rule, _ in expected}
    assert set(rules) == triggered == set(CATEGORIES)
    assert {r.id: r.category for r in rules.values()} == CATEGORIES


def test_messages_are_in_the_language_of_the_pack() -> None:
    for rule in rules_for_language("ja"):
        assert any("\u3040" <= ch <= "\u30ff" for ch in rule.message), rule.id
    for rule in rules_for_language("en"):
        assert rule.message.isascii(), rule.id


def test_severity_is_one_of_the_three() -> None:
    for lang in ("ja", "en"):
        assert {r.severity for r in rules_for_language(lang)} <= {"error", "warning", "info"}


def test_unknown_languages_and_empty_text_have_no_findings() -> None:
    assert scan("当院は日本一です", "fr") == []
    assert scan("", "ja") == [] and scan("", "en") == []
    assert scan("当院は日本一です", "ja-JP")[0].rule == "ja-comparative"


def test_findings_in_a_longer_post_point_at_their_words() -> None:
    text = "【お知らせ】\n当院は地域で一番の実績。\n今なら半額！\n芸能人も通う当院へ。"
    assert found(text, "ja") == [
        ("ja-celebrity", "芸能人も通う"),
        ("ja-comparative", "地域で一番"),
        ("ja-price-emphasis", "今なら半額"),
    ]


def test_before_after_details_may_be_anywhere_in_the_post() -> None:
    photos = "ビフォーアフター写真を公開しました。"
    details = "治療内容：ヒアルロン酸注入。費用：55,000円（税込）。主なリスク：内出血、腫れ。"
    assert found(photos, "ja") == [("ja-before-after", "ビフォーアフター")]
    assert found(photos + "\n" + details, "ja") == []
    assert found(photos + "費用：55,000円。", "ja") == [("ja-before-after", "ビフォーアフター")]


def test_sentences_end_at_japanese_and_english_punctuation_and_line_breaks() -> None:
    text = "Dr. Sato said no.1 thing! 次の文。Last line\nnew line"
    doc = Document(text)
    spans = [
        doc.sentence(text.index(word), text.index(word) + 1) for word in ("Sato", "次", "La", "new")
    ]
    assert [text[a:b].strip() for a, b in spans] == [
        "Dr. Sato said no.1 thing!",
        "次の文。",
        "Last line",
        "new line",
    ]
    assert doc.sentence(text.index("Sato"), text.index("Last") + 1) == (0, text.index("new"))


# --- malformed packs -------------------------------------------------------------------------

GOOD_RULE = """\
  - id: x-rule
    category: false_claim
    severity: error
    patterns: ["miracle"]
    message: m
    source: s
"""


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ("language: en\nrules: [\n", ["not valid YAML"]),
        (
            "language: en\nrules:\n" + GOOD_RULE.replace('["miracle"]', '["mira(cle"]'),
            ["x-rule", "patterns[0]", "regular expression"],
        ),
        (
            "language: en\nrules:\n" + GOOD_RULE.replace("    source: s\n", ""),
            ["x-rule", "missing", "source"],
        ),
        (
            "language: en\nrules:\n" + GOOD_RULE.replace("severity: error", "severity: fatal"),
            ["x-rule", "severity", "fatal"],
        ),
        ("language: en\nrules:\n" + GOOD_RULE + "    severty: x\n", ["x-rule", "severty"]),
        ("language: en\nrules:\n" + GOOD_RULE + GOOD_RULE, ["x-rule", "used twice"]),
        (
            "language: en\nrules:\n" + GOOD_RULE.replace('["miracle"]', '["{nope}"]'),
            ["x-rule", "{nope}"],
        ),
        (
            "language: en\nrules:\n" + GOOD_RULE + "    unless_in_text: '(x'\n",
            ["x-rule", "unless_in_text"],
        ),
        ("language: en\nrules:\n" + GOOD_RULE + "    validate: luhn\n", ["x-rule", "luhn"]),
        (
            "language: en\nrules:\n" + GOOD_RULE.replace('patterns: ["miracle"]', "patterns: []"),
            ["x-rule", "patterns"],
        ),
        (
            "language: en\nterms: {a: '{b}', b: '{a}'}\nrules:\n"
            + GOOD_RULE.replace('["miracle"]', '["{a}"]'),
            ["x-rule", "circle"],
        ),
        ("rules: []\n", ["language"]),
        ("language: en\nrules:\n  - just text\n", ["rules[0]", "mapping"]),
    ],
    ids=[
        "yaml",
        "regex",
        "missing",
        "severity",
        "unknown-field",
        "duplicate",
        "term",
        "guard-regex",
        "validator",
        "no-patterns",
        "circular-terms",
        "no-language",
        "not-a-mapping",
    ],
)
def test_malformed_packs_name_the_file_and_the_rule(
    tmp_path: Path, body: str, words: list[str]
) -> None:
    path = tmp_path / "broken-pack.yaml"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(RulePackError) as info:
        load_rule_pack(path)
    message = str(info.value)
    assert "broken-pack.yaml" in message
    for word in words:
        assert word in message
    if "x-rule" in words:
        assert info.value.rule_id == "x-rule"


def test_a_pack_directory_is_read_by_kind_and_language(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("language: en\nrules:\n" + GOOD_RULE, encoding="utf-8")
    (tmp_path / "b.yaml").write_text("kind: privacy\nlanguage: en\nrules: []\n", encoding="utf-8")
    rules = rules_for_language("en", rules_dir=tmp_path)
    assert [r.id for r in rules] == ["x-rule"]
    assert [f.rule for f in rules.scan("A MIRACLE!")] == ["x-rule"]
    assert rules_for_language("ja", rules_dir=tmp_path) == ()


def test_shipped_packs_load() -> None:
    for path in sorted(RULES_DIR.glob("*.yaml")):
        if "privacy" not in path.name:
            assert len(load_rule_pack(path)) >= 10


# --- properties ------------------------------------------------------------------------------

FRAGMENTS = st.sampled_from(
    [text for _, text, _ in CORPUS]
    + ["。", "\n", ".", " ", "ｎｏ．１", "İ", "Dr.", "#1", "１００％"]
)
POSTS = st.one_of(st.text(), st.lists(st.one_of(st.text(max_size=6), FRAGMENTS)).map("".join))


@settings(max_examples=300, deadline=None)
@given(text=POSTS, lang=st.sampled_from(["ja", "en"]))
def test_scan_never_raises_and_offsets_stay_in_the_text(text: str, lang: str) -> None:
    for finding in scan(text, lang):
        assert 0 <= finding.start < finding.end <= len(text)


@settings(max_examples=200, deadline=None)
@given(text=POSTS, lang=st.sampled_from(["ja", "en"]))
def test_the_literal_gate_never_hides_a_finding(text: str, lang: str) -> None:
    """Running every pattern of every rule finds exactly what the gated scan finds."""
    doc = Document(text)
    rules = rules_for_language(lang)
    everything = {f for rule in rules for f in rule.findings(doc)}
    assert set(rules.scan(text)) == everything


def test_a_300_character_post_scans_in_well_under_a_fifth_of_a_millisecond() -> None:
    posts = {
        "ja": ("寝る1時間前にはスマホを置きましょう。画面の光は眠りを遅らせます。" * 10)[:300],
        "en": ("Put your phone away an hour before bed; screen light delays sleep. " * 6)[:300],
    }
    for lang, post in posts.items():
        scan(post, lang)
        runs = 200
        started = time.perf_counter()
        for _ in range(runs):
            scan(post, lang)
        assert (time.perf_counter() - started) / runs < 0.001  # generous: measured ~20 µs

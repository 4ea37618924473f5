"""The patient-privacy lint, measured on a labelled corpus, plus its code checks and allowlist."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from brandkit.content.privacy import (
    PrivacyAllowlist,
    age_over_89,
    calendar_date,
    my_number,
    nhs_number,
    phone,
    privacy_rules,
    scan_privacy,
)
from tests.corpus_scoring import precision_and_recall

Expected = list[tuple[str, str]]

JA: list[tuple[str, Expected]] = [
    ("患者の山田さんが無事に退院されました。", [("ja-patient-name", "山田さん")]),
    ("本日来院された田中様、ありがとうございました。", [("ja-patient-name", "田中様")]),
    ("アルバレスさんの手術は無事に終わりました。", [("ja-patient-name", "アルバレスさん")]),
    ("山田花子さんが来院されました。", [("ja-patient-name", "山田花子さん")]),
    ("患者の鈴木 一郎様からお手紙をいただきました。", [("ja-patient-name", "鈴木 一郎様")]),
    ("91歳の患者さんが手術を受けられました。", [("ja-age-over-89", "91歳")]),
    ("98歳のおばあさまが退院されました。", [("ja-age-over-89", "98歳")]),
    ("生年月日：1985年4月3日", [("ja-birth-date", "1985年4月3日")]),
    ("昭和60年4月3日生まれの患者さんです。", [("ja-birth-date", "昭和60年4月3日")]),
    ("誕生日は2001/5/20です。", [("ja-birth-date", "2001/5/20")]),
    ("3月5日に来院された患者さんのお話です。", [("ja-visit-date", "3月5日")]),
    ("連絡先は090-1234-5678です。", [("ja-phone", "090-1234-5678")]),
    ("お問い合わせは03-1234-5678まで。", [("ja-phone", "03-1234-5678")]),
    ("電話番号は0312345678です。", [("ja-phone", "0312345678")]),
    ("+81-90-1234-5678にお電話ください。", [("ja-phone", "+81-90-1234-5678")]),
    ("メールはtaro.yamada@example.comまで。", [("ja-email", "taro.yamada@example.com")]),
    (
        "〒123-4567 東京都港区芝公園1-2-3",
        [("ja-postal-code", "〒123-4567"), ("ja-address", "東京都港区芝公園1-2-3")],
    ),
    (
        "患者さんの住所は大阪府大阪市北区梅田1丁目2番3号です。",
        [("ja-address", "大阪府大阪市北区梅田1丁目2番3号")],
    ),
    ("マイナンバーは983205673214です。", [("ja-my-number", "983205673214")]),
    ("マイナンバー 9832 0567 3214 を控えました。", [("ja-my-number", "9832 0567 3214")]),
    ("カルテ番号 12345 の患者さん", [("ja-medical-record", "12345")]),
    ("カルテNo.4567を確認しました。", [("ja-medical-record", "4567")]),
    ("診察券番号：A-10234", [("ja-medical-record", "A-10234")]),
    ("患者IDは00012345です。", [("ja-medical-record", "00012345")]),
    ("被保険者番号は12345678です。", [("ja-insurance-number", "12345678")]),
    ("保険者番号：06123456", [("ja-insurance-number", "06123456")]),
    ("記号・番号：1234・567", [("ja-insurance-number", "1234・567")]),
    # hard negatives
    ("看護師の田中さんが検査を担当します。", []),
    ("皆様のご来院をお待ちしています。", []),
    ("〇〇様、ご来院ありがとうございました。", []),
    ("佐藤さん、いつもありがとう。", []),
    ("山田先生の外来は月曜日です。", []),
    ("90歳以上の方は無料で接種できます。", []),
    ("100歳まで元気に過ごしましょう。", []),
    ("お子さんの予防接種は1歳から受けられます。", []),
    ("12月29日から1月3日まで休診いたします。", []),
    ("注文番号983205673210です。", []),
    ("診療時間は9:00-18:00です。", []),
    ("当院は2015年に開院しました。", []),
    ("人口10万人あたりの患者数は増えています。", []),
    ("保険証をお持ちください。", []),
    ("患者さんの個人情報は厳重に管理しています。", []),
    ("価格は1,000円から10,000円です。", []),
]

EN: list[tuple[str, Expected]] = [
    ("Thanks for visiting us, Mrs. Alvarez!", [("en-patient-name", "Mrs. Alvarez")]),
    (
        "Our patient John Smith recovered well after surgery.",
        [("en-patient-name", "John Smith")],
    ),
    ("Mr. Tanaka had his knee surgery with us today.", [("en-patient-name", "Mr. Tanaka")]),
    ("Happy birthday to our patient Mrs. Lopez!", [("en-patient-name", "Mrs. Lopez")]),
    ("A 93-year-old patient came in for a check-up.", [("en-age-over-89", "93-year-old")]),
    ("Aged 97, he still walks to every appointment.", [("en-age-over-89", "97")]),
    ("DOB: 04/12/1985", [("en-birth-date", "04/12/1985")]),
    ("She was born on March 3, 1931.", [("en-birth-date", "March 3, 1931")]),
    ("Her date of birth is 1990-07-14.", [("en-birth-date", "1990-07-14")]),
    ("She was admitted on March 3 for surgery.", [("en-visit-date", "March 3")]),
    ("Call (212) 555-0142 to reach her.", [("en-phone", "(212) 555-0142")]),
    ("Call 1-800-555-0199 now.", [("en-phone", "800-555-0199")]),
    ("Her mobile is 07700 900123.", [("en-phone", "07700 900123")]),
    ("Call +44 20 7946 0958 for her results.", [("en-phone", "+44 20 7946 0958")]),
    ("Email jane.doe@gmail.com for the photos.", [("en-email", "jane.doe@gmail.com")]),
    (
        "He lives at 123 Main Street, Springfield, IL 62704.",
        [("en-street-address", "123 Main Street, Springfield, IL 62704")],
    ),
    ("She lives near SW1A 1AA.", [("en-uk-postcode", "SW1A 1AA")]),
    ("SSN 123-45-6789", [("en-ssn", "123-45-6789")]),
    ("His NHS number is 943 476 5919.", [("en-nhs-number", "943 476 5919")]),
    ("MRN: 12345", [("en-medical-record", "12345")]),
    ("Chart number 556677 was updated.", [("en-medical-record", "556677")]),
    ("Member ID: ABC123456789", [("en-insurance-id", "ABC123456789")]),
    ("Policy number 98765432 was declined.", [("en-insurance-id", "98765432")]),
    # hard negatives
    ("Mr. Patel, our surgeon, performed the procedure.", []),
    ("We're proud of our nurse Ms. Lee, who treated 500 patients this year.", []),
    ("Mrs. Robinson from our front desk will greet you at your appointment.", []),
    ("Our Patient Care team is here to help.", []),
    ("Dr. Smith will see patients on Monday.", []),
    ("Thank you for visiting our website.", []),
    ("Adults 90 years and older should get the shot.", []),
    ("Patients over 90 years old need a carer.", []),
    ("Vaccines are recommended for adults aged 65 and older.", []),
    ("Our clinic is closed on December 25.", []),
    ("Flu shots are available from October 1.", []),
    ("We saw 40 patients on March 3.", []),
    ("Call 911 in an emergency.", []),
    ("Order number 983205673214 has shipped.", []),
    ("His NHS number is 943 476 5918.", []),
    ("Version 1.2.3 is out.", []),
    ("The clinic is at 55 Baker Street, London.", []),
    ("Our office hours are 9-5.", []),
    ("Take 2 tablets every 4-6 hours.", []),
    ("We protect every patient's privacy.", []),
]

CORPUS = [("ja", text, expected) for text, expected in JA] + [
    ("en", text, expected) for text, expected in EN
]

CATEGORIES = {
    "patient_name": {"ja-patient-name", "en-patient-name"},
    "date": {"ja-birth-date", "ja-visit-date", "en-birth-date", "en-visit-date"},
    "age": {"ja-age-over-89", "en-age-over-89"},
    "contact": {"ja-phone", "ja-email", "en-phone", "en-email"},
    "address": {"ja-postal-code", "ja-address", "en-street-address", "en-uk-postcode"},
    "national_id": {"ja-my-number", "en-ssn", "en-nhs-number"},
    "medical_record": {"ja-medical-record", "en-medical-record"},
    "insurance": {"ja-insurance-number", "en-insurance-id"},
}
CATEGORY_OF = {rule: category for category, rules in CATEGORIES.items() for rule in rules}
WARNINGS = {"ja-visit-date", "en-visit-date", "ja-age-over-89", "en-age-over-89", "en-uk-postcode"}


def found(text: str, lang: str, allow: PrivacyAllowlist | None = None) -> Expected:
    return sorted((f.rule, text[f.start : f.end]) for f in scan_privacy(text, lang, allow=allow))


def test_corpus_has_enough_sentences_in_each_language() -> None:
    assert len(JA) >= 40 and len(EN) >= 40
    assert sum(not e for _, e in JA) >= 15 and sum(not e for _, e in EN) >= 15


@pytest.mark.parametrize(("lang", "text", "expected"), CORPUS, ids=[t[:24] for _, t, _ in CORPUS])
def test_each_sentence_gives_exactly_its_findings(lang: str, text: str, expected: Expected) -> None:
    assert found(text, lang) == sorted(expected)
    for finding in scan_privacy(text, lang):
        assert finding.category == CATEGORY_OF[finding.rule]
        assert finding.severity == ("warning" if finding.rule in WARNINGS else "error")


def test_precision_and_recall_on_the_corpus() -> None:
    precision, recall = precision_and_recall(
        (set(expected), set(found(text, lang))) for lang, text, expected in CORPUS
    )
    assert precision >= 0.95, precision
    assert recall >= 0.95, recall


def test_every_rule_is_triggered_by_the_corpus() -> None:
    rules = {r.id for lang in ("ja", "en") for r in privacy_rules(lang)}
    triggered = {rule for _, _, expected in CORPUS for rule, _ in expected}
    assert rules == triggered == set(CATEGORY_OF)


def test_messages_say_why_and_what_to_do_in_the_post_language() -> None:
    [name_rule] = [r for r in privacy_rules("ja") if r.id == "ja-patient-name"]
    assert "患者さんが特定される情報は掲載できません" in name_rule.message
    assert "伏せ" in name_rule.message
    for rule in privacy_rules("en"):
        assert rule.message.isascii() and rule.source


def test_other_languages_get_the_english_identifier_rules() -> None:
    assert found("Écrivez à marie@example.fr", "fr") == [("en-email", "marie@example.fr")]


# --- My Number and the other code checks --------------------------------------------------------


def check_digit(body: str) -> int:
    """The 検査用数字 as commonly published: weights 6,5,4,3,2,7,6,5,4,3,2 from the left."""
    total = sum(int(d) * w for d, w in zip(body, [6, 5, 4, 3, 2, 7, 6, 5, 4, 3, 2], strict=True))
    return 0 if total % 11 <= 1 else 11 - total % 11


@pytest.mark.parametrize("body", ["98320567321", "12345678901", "31415926535", "27182818284"])
def test_my_number_with_its_check_digit_is_flagged_and_any_other_last_digit_is_not(
    body: str,
) -> None:
    good = body + str(check_digit(body))
    assert my_number(good)
    assert found(f"マイナンバー：{good}", "ja") == [("ja-my-number", good)]
    for digit in "0123456789":
        if digit != good[-1]:
            assert not my_number(body + digit)
            assert found(f"マイナンバー：{body}{digit}", "ja") == []


def test_the_published_my_number_example_checks_out() -> None:
    assert check_digit("98320567321") == 4 and my_number("983205673214")
    assert not my_number("000000000000") and not my_number("12345")


@given(st.text(alphabet="0123456789", min_size=11, max_size=11))
def test_my_number_agrees_with_the_published_formula(body: str) -> None:
    if len(set(body)) > 1:
        assert my_number(body + str(check_digit(body)))


def test_nhs_number_check_digit() -> None:
    assert nhs_number("943 476 5919") and not nhs_number("943 476 5918")


def test_phone_dates_and_ages() -> None:
    assert phone("03-1234-5678") and phone("(212) 555-0142") and phone("+44 20 7946 0958")
    assert not phone("000-0000-0000") and not phone("12-3456")
    assert calendar_date("1985年4月3日") and calendar_date("March 3, 1931")
    assert calendar_date("04/12/1985") and calendar_date("2001/5/20")
    assert not calendar_date("13/45/2020") and not calendar_date("2月30日")
    assert age_over_89("91歳") and age_over_89("93-year-old")
    assert not age_over_89("89歳") and not age_over_89("126歳")


# --- the allowlist -------------------------------------------------------------------------------

JA_POST = (
    "【やまだ内科クリニック】院長 山田太郎\n"
    "TEL 03-1234-5678 / +81-3-1234-5678　MAIL: Info@Yamada-Clinic.jp\n"
    "〒105-0011 東京都港区芝公園1-2-3\n"
    "山田さんが診察を担当します。\n"
    "患者の佐藤さんから090-8765-4321に連絡がありました。"
)
JA_ALLOW = PrivacyAllowlist(
    names=["山田 太郎"],
    phones=["03-1234-5678"],
    emails=["info@yamada-clinic.jp"],
    addresses=["〒105-0011 東京都港区芝公園1丁目2番3号"],
)
EN_POST = (
    "Mr. Okafor will see you at your appointment. "
    "Call (212) 555-0142 or +1 212 555 0142, or email Hello@BrightClinic.com. "
    "We are at 10 Main Street, Springfield, IL 62704. "
    "Thanks for visiting us, Mrs. Alvarez! Your daughter left 646-555-0100 and ann@mail.com."
)
EN_ALLOW = PrivacyAllowlist(
    names=["Chidi Okafor"],
    phones=["212-555-0142"],
    emails=["@brightclinic.com"],
    addresses=["10 Main Street, Springfield, IL 62704"],
)


def test_the_clinics_own_details_and_the_doctors_name_are_never_findings() -> None:
    assert {rule for rule, _ in found(JA_POST, "ja")} >= {
        "ja-phone",
        "ja-email",
        "ja-postal-code",
        "ja-address",
        "ja-patient-name",
    }
    assert found(JA_POST, "ja", JA_ALLOW) == [
        ("ja-patient-name", "佐藤さん"),
        ("ja-phone", "090-8765-4321"),
    ]
    assert len(found(EN_POST, "en")) == 8
    assert found(EN_POST, "en", EN_ALLOW) == [
        ("en-email", "ann@mail.com"),
        ("en-patient-name", "Mrs. Alvarez"),
        ("en-phone", "646-555-0100"),
    ]


def test_an_allowlist_accepts_a_single_string_and_empty_lists() -> None:
    allow = PrivacyAllowlist(phones="03-1234-5678")
    assert allow.phones == ("03-1234-5678",)
    assert found("TEL 03-1234-5678", "ja", allow) == []
    assert found("TEL 03-1234-5678", "ja", PrivacyAllowlist()) == [("ja-phone", "03-1234-5678")]


# --- properties ----------------------------------------------------------------------------------

FRAGMENTS = st.sampled_from(
    [text for _, text, _ in CORPUS] + ["。", "\n", "-", "〒", "@", "+81", "歳", "様", "Mrs. "]
)
POSTS = st.one_of(st.text(), st.lists(st.one_of(st.text(max_size=6), FRAGMENTS)).map("".join))


@settings(max_examples=300, deadline=None)
@given(text=POSTS, lang=st.sampled_from(["ja", "en"]), allowed=st.booleans())
def test_scan_privacy_never_raises_and_offsets_stay_in_the_text(
    text: str, lang: str, allowed: bool
) -> None:
    allow = (JA_ALLOW if lang == "ja" else EN_ALLOW) if allowed else None
    for finding in scan_privacy(text, lang, allow=allow):
        assert 0 <= finding.start < finding.end <= len(text)

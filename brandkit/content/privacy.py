"""Finds patient-identifying information in a post before it is published.

A clinic's post must never identify a patient (個人情報保護法 and the 医療・介護関係事業者
ガイダンス; HIPAA Safe Harbor, 45 CFR 164.514(b)(2); UK GDPR). The patterns and messages live in
``rules/*-privacy.yaml`` (``kind: privacy``) and run on the compliance engine; this module adds
only what a regex cannot decide: check digits (マイナンバー, NHS number), plausible phone lengths
and calendar dates, and the age threshold of HIPAA Safe Harbor (over 89).

The clinic's own phone, e-mail and address, and the doctor's own name, appear in many posts
legitimately; the caller passes them as a :class:`PrivacyAllowlist` and they are never findings.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import date

from brandkit.content.compliance import (
    Finding,
    Rule,
    RuleSet,
    Validator,
    fold,
    rules_for_language,
)

ALLOW_KINDS = ("names", "phones", "emails", "addresses")
_DIGIT = re.compile(r"[0-9]")
_NUMBER = re.compile(r"[0-9]+")
_MONTHS = {
    name: n for n, name in enumerate("jan feb mar apr may jun jul aug sep oct nov dec".split(), 1)
}
_HONORIFIC = re.compile(
    r"^(?:mrs|mr|ms|miss|mx|dr)\.?\s+|(?:さん|様|さま|氏|くん|ちゃん|先生)$", re.IGNORECASE
)
_ADDRESS_NOISE = re.compile(r"[\s,、。.\-〒#]|丁目|番地|番|号")


def _digits(text: str) -> list[int]:
    return [int(c) for c in _DIGIT.findall(text)]


def my_number(text: str) -> bool:
    """A 12-digit 個人番号 whose last digit is its 検査用数字.

    The 総務省令 formula: with Pn the n-th digit counted from the right of the first eleven,
    Qn = n + 1 for n <= 6 and n - 5 for n >= 7; r = sum(Pn * Qn) mod 11; the check digit is
    0 when r <= 1, else 11 - r. Random 12-digit numbers (order numbers, phone pairs) mostly fail
    it, so they are not flagged. Numbers of one repeated digit are placeholders, not numbers.
    """
    digits = _digits(text)
    if len(digits) != 12 or len(set(digits)) == 1:
        return False
    body, check = digits[:11], digits[11]
    total = sum(p * (n + 1 if n <= 6 else n - 5) for n, p in enumerate(reversed(body), start=1))
    remainder = total % 11
    return check == (0 if remainder <= 1 else 11 - remainder)


def nhs_number(text: str) -> bool:
    """A 10-digit NHS number whose last digit is its modulus-11 check digit (weights 10..2)."""
    digits = _digits(text)
    if len(digits) != 10 or len(set(digits)) == 1:
        return False
    check = 11 - sum(d * w for d, w in zip(digits[:9], range(10, 1, -1), strict=True)) % 11
    return check != 10 and digits[9] == (0 if check == 11 else check)


def phone(text: str) -> bool:
    """A plausible telephone number: a national number of 10-11 digits (JP, UK, US with area
    code) or an international one of 8-15 digits; one repeated digit is a placeholder."""
    digits = "".join(_DIGIT.findall(text))
    if len(set(digits)) <= 1:
        return False
    if text.lstrip().startswith("+"):
        return 8 <= len(digits) <= 15
    if digits.startswith("0"):
        return 10 <= len(digits) <= 11
    return len(digits) == 10 or (len(digits) == 11 and digits.startswith("1"))


def _valid(year: int, month: int, day: int) -> bool:
    try:
        date(year if 1 <= year <= 9999 else 2000, month, day)
    except ValueError:
        return False
    return True


def calendar_date(text: str) -> bool:
    """The flagged text is a real day of the year (13/45/2020 and version numbers are not)."""
    low = text.lower()
    numbers = [int(n) for n in _NUMBER.findall(text)][:3]
    month = next((n for name, n in _MONTHS.items() if name in low), None)
    if month is not None:
        return any(_valid(2000, month, n) for n in numbers)
    if len(numbers) == 3:
        if numbers[0] > 31 or "年" in text:  # year first: 1985/4/3, 1985年4月3日, 昭和60年4月3日
            return _valid(2000, numbers[1], numbers[2])
        return _valid(2000, numbers[0], numbers[1]) or _valid(2000, numbers[1], numbers[0])
    if len(numbers) == 2:
        if "月" in text:
            return _valid(2000, numbers[0], numbers[1])
        return _valid(2000, numbers[0], numbers[1]) or _valid(2000, numbers[1], numbers[0])
    return False


def age_over_89(text: str) -> bool:
    """HIPAA Safe Harbor removes ages over 89: with so few people that old, age identifies."""
    numbers = _NUMBER.findall(text)
    return bool(numbers) and 90 <= int(numbers[0]) <= 125


VALIDATORS: Mapping[str, Validator] = {
    "my_number": my_number,
    "nhs_number": nhs_number,
    "phone": phone,
    "calendar_date": calendar_date,
    "age_over_89": age_over_89,
}


def _compact(text: str) -> str:
    return unicodedata.normalize("NFKC", fold(text)).casefold().replace(" ", "")


def _phone_key(text: str) -> str:
    """National significant digits, so +81-3-1234-5678 equals 03-1234-5678."""
    digits = "".join(_DIGIT.findall(unicodedata.normalize("NFKC", text)))
    if text.strip().startswith("+"):
        for code in ("81", "44", "1"):
            if digits.startswith(code):
                return digits[len(code) :].lstrip("0")
    if len(digits) == 11 and digits.startswith("1"):
        return digits[1:]
    return digits.lstrip("0")


def _address_key(text: str) -> str:
    return _ADDRESS_NOISE.sub("", _compact(text))


def _name_key(text: str) -> str:
    return _compact(_HONORIFIC.sub("", unicodedata.normalize("NFKC", text).strip()).strip())


@dataclass(frozen=True)
class PrivacyAllowlist:
    """What may appear in posts: the doctor's and clinic's own names and contact details.

    Build it from the doctor's profile and the workspace's contact settings. Phones compare by
    digits (any format, +81/+44/+1 or a leading 0); e-mails ignore case, and an entry starting
    with "@" allows a whole domain; addresses and names compare without spaces, punctuation or
    honorifics, and a finding inside an allowed entry (a surname of the doctor, the postal code
    of the clinic) is allowed too.
    """

    names: Collection[str] = ()
    phones: Collection[str] = ()
    emails: Collection[str] = ()
    addresses: Collection[str] = ()

    def __post_init__(self) -> None:
        for kind in ALLOW_KINDS:
            value = getattr(self, kind)
            object.__setattr__(self, kind, (value,) if isinstance(value, str) else tuple(value))

    def allows(self, kind: str, found: str) -> bool:
        """Whether ``found`` (the text of a finding) is one of the allowed entries of ``kind``."""
        if kind == "phones":
            key = _phone_key(found)
            return bool(key) and any(_phone_key(p) == key for p in self.phones)
        if kind == "emails":
            low = found.strip().casefold()
            return any(
                low.endswith(e.casefold()) if e.startswith("@") else low == e.strip().casefold()
                for e in self.emails
            )
        if kind == "addresses":
            return _contains_either(_address_key(found), [_address_key(a) for a in self.addresses])
        if kind == "names":
            return _contains_either(_name_key(found), [_compact(n) for n in self.names])
        return False


def _contains_either(key: str, allowed: list[str]) -> bool:
    return len(key) >= 2 and any(len(a) >= 2 and (key in a or a in key) for a in allowed)


def privacy_rules(lang: str) -> RuleSet:
    """The compiled privacy rules for ``lang``; a language without a pack gets the English one,
    because identifiers (phones, e-mails) leak in any language."""
    rules = rules_for_language(lang, "privacy", validators=VALIDATORS, allow_kinds=ALLOW_KINDS)
    if rules or lang.split("-")[0].lower() == "en":
        return rules
    return privacy_rules("en")


def scan_privacy(text: str, lang: str, *, allow: PrivacyAllowlist | None = None) -> list[Finding]:
    """Every patient-identifying detail in ``text``, minus what ``allow`` says is the clinic's own.

    Errors are identifiers (names in a patient context, contact details, ID and record numbers,
    dates of birth); warnings are softer signals (visit dates tied to a person, ages over 89).
    """

    def keep(rule: Rule, finding: Finding) -> bool:
        flagged = text[finding.start : finding.end]
        return not (allow and rule.allow and allow.allows(rule.allow, flagged))

    return privacy_rules(lang).scan(text, keep)

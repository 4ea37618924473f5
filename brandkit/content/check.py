"""``check()``: everything brandkit knows about whether a text may go out on a platform."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from brandkit.content.compliance import Finding, scan
from brandkit.content.length import measure, rules_for
from brandkit.content.readability import Readability, detect_language, readability

READABILITY_MESSAGES = {
    "ja": "読みやすさ {score}({level})は想定読者「{target}」には難しめです。"
    "一文を短くし、専門用語に説明を添えてください。",
    "en": "Readability {score} ({level}) is harder than this template's '{target}' audience "
    "expects: use shorter sentences and plainer words.",
}


@dataclass(frozen=True)
class CheckResult:
    platform: str
    length: int
    limit: int
    fits: bool
    findings: list[Finding] = field(default_factory=list)
    readability: Readability | None = None

    @property
    def has_errors(self) -> bool:
        return not self.fits or any(f.severity == "error" for f in self.findings)

    def as_dict(self) -> dict[str, Any]:
        r = self.readability
        return {
            "platform": self.platform,
            "length": self.length,
            "limit": self.limit,
            "fits": self.fits,
            "findings": [f.as_dict() for f in self.findings],
            "readability": None
            if r is None
            else {"lang": r.lang, "score": r.score, "level": r.level, "method": r.method},
        }


def check(
    text: str,
    *,
    platform: str,
    lang: str | None = None,
    readability_target: str | None = None,
) -> CheckResult:
    """Measure ``text`` for ``platform``, run the rules for its language, score readability.

    ``lang`` is ``ja``, ``en`` or ``None`` to detect it; ``readability_target`` (a template's
    audience: patient, general, professional) adds a warning when the text is harder than that.
    """
    lang = lang if lang in ("ja", "en") else detect_language(text)
    rules = rules_for(platform)
    length = measure(text, platform)
    findings = scan(text, lang)
    if length > rules.limit:
        findings.insert(
            0,
            Finding(
                rule="length",
                category="length",
                severity="error",
                start=0,
                end=len(text),
                message=f"{length - rules.limit} over the {platform} limit of {rules.limit}",
            ),
        )
    if not text.strip():
        findings.insert(0, Finding("empty", "length", "error", 0, 0, "the post is empty"))
    score = readability(text, lang)
    if score is not None and readability_target and score.harder_than(readability_target):
        message = READABILITY_MESSAGES[lang].format(
            score=score.score, level=score.level, target=readability_target
        )
        findings.append(Finding("readability", "readability", "warning", 0, len(text), message))
    return CheckResult(
        platform=platform,
        length=length,
        limit=rules.limit,
        fits=length <= rules.limit and bool(text.strip()),
        findings=findings,
        readability=score,
    )

"""``check()``: everything brandkit knows about whether a text may go out on a platform.

One call measures the text the platform's way (length, bytes, links, hashtags), runs the
medical-advertising rule packs and the patient-privacy detectors for its language, and scores
readability against the template's audience. A draft too long for one post on a platform with
threads comes back with the numbered ``thread`` it would make; elsewhere it is an error.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from brandkit.content.compliance import Finding, scan
from brandkit.content.length import InstanceLimits, measure_post, rules_for
from brandkit.content.privacy import PrivacyAllowlist, scan_privacy
from brandkit.content.readability import Readability, detect_language, readability
from brandkit.content.threads import split_into_thread
from brandkit.errors import InvalidInputError

READABILITY_MESSAGES = {
    "ja": "読みやすさ {score}（{level}）は想定読者「{target}」には難しめです。"
    "一文を短くし、専門用語に説明を添えてください。",
    "en": "Readability {score} ({level}) is harder than this template's '{target}' audience "
    "expects: use shorter sentences and plainer words.",
}
THREAD_NOTE = {
    "ja": "（{parts} 件のスレッドに分けて投稿できます）",
    "en": "; it can go out as a thread of {parts} posts",
}
EMPTY = {"ja": "投稿が空です", "en": "the post is empty"}


@dataclass(frozen=True)
class CheckResult:
    platform: str
    length: int
    limit: int
    fits: bool
    findings: list[Finding] = field(default_factory=list)
    readability: Readability | None = None
    thread: list[str] | None = None  # the numbered parts, when it must be split to go out

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
            "thread": self.thread,
        }


def check(
    text: str,
    *,
    platform: str,
    lang: str | None = None,
    readability_target: str | None = None,
    instance: InstanceLimits | None = None,
    allow: PrivacyAllowlist | None = None,
) -> CheckResult:
    """Measure ``text`` for ``platform``, run the rules for its language, score readability.

    ``lang`` is ``ja``, ``en`` or ``None`` to detect it; ``readability_target`` (a template's
    audience: patient, general, professional) adds a warning when the text is harder than that;
    ``instance`` carries a Mastodon instance's own limits when known; ``allow`` names the
    doctor and the clinic's own contact details, which the privacy detectors must not flag.
    """
    lang = lang if lang in ("ja", "en") else detect_language(text)
    measurement = measure_post(text, platform, lang=lang, instance=instance)
    thread = _thread(text, platform, lang, instance) if not measurement.fits else None
    findings = [_length_finding(p, text, lang, thread) for p in measurement.problems]
    if not text.strip():
        findings.insert(0, Finding("empty", "length", "error", 0, 0, EMPTY[lang]))
    findings += scan(text, lang)
    findings += scan_privacy(text, lang, allow=allow)
    score = readability(text, lang)
    if score is not None and readability_target and score.harder_than(readability_target):
        message = READABILITY_MESSAGES[lang].format(
            score=score.score, level=score.level, target=readability_target
        )
        findings.append(Finding("readability", "readability", "warning", 0, len(text), message))
    return CheckResult(
        platform=platform,
        length=measurement.length,
        limit=measurement.limit,
        fits=measurement.fits and bool(text.strip()),
        findings=findings,
        readability=score,
        thread=thread,
    )


def _thread(
    text: str, platform: str, lang: str, instance: InstanceLimits | None
) -> list[str] | None:
    if not rules_for(platform, instance=instance).has_threads:
        return None
    try:
        parts = split_into_thread(text, platform, lang=lang, instance=instance)
    except InvalidInputError:  # a single link or tag longer than a post: stays an error
        return None
    return parts if len(parts) > 1 else None


def _length_finding(problem: Any, text: str, lang: str, thread: list[str] | None) -> Finding:
    """A length problem as a finding; too long for one post is only a warning with a thread."""
    message, severity = problem.message, problem.severity
    if thread and problem.code in ("too_long", "too_many_bytes"):
        message += THREAD_NOTE[lang].format(parts=len(thread))
        severity = "warning"
    return Finding(problem.code, "length", severity, 0, len(text), message)

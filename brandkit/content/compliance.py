"""Runs the medical-advertising rule packs (data files in ``content/rules/``) over a text.

A rule is a regular expression plus optional context guards (``unless_followed_by``,
``unless_preceded_by``) so that advice such as "No treatment is 100% safe" is not a finding.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from brandkit.errors import TemplateError

RULES_DIR = Path(__file__).with_name("rules")
SEVERITIES = ("error", "warning", "info")


@dataclass(frozen=True)
class Finding:
    rule: str
    category: str
    severity: str
    start: int
    end: int
    message: str
    source: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "category": self.category,
            "severity": self.severity,
            "start": self.start,
            "end": self.end,
            "message": self.message,
            "source": self.source,
        }


@dataclass(frozen=True)
class Rule:
    id: str
    category: str
    severity: str
    pattern: re.Pattern[str]
    message: str
    source: str
    unless_followed_by: re.Pattern[str] | None = None
    unless_preceded_by: re.Pattern[str] | None = None

    def scan(self, text: str) -> list[Finding]:
        found = []
        for match in self.pattern.finditer(text):
            after = text[match.end() : match.end() + 20]
            before = text[max(0, match.start() - 60) : match.start()]
            if self.unless_followed_by and self.unless_followed_by.match(after):
                continue
            if self.unless_preceded_by and self.unless_preceded_by.search(before):
                continue
            found.append(
                Finding(
                    self.id,
                    self.category,
                    self.severity,
                    match.start(),
                    match.end(),
                    self.message,
                    self.source,
                )
            )
        return found


@cache
def load_rule_pack(path: Path) -> tuple[str, tuple[Rule, ...]]:
    """Parse one rule pack; errors name the file and the rule."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        language = str(data["language"])
        rules = []
        for index, item in enumerate(data["rules"]):
            where = f"{path.name} rules[{index}] ({item.get('id', '?')})"
            if item.get("severity") not in SEVERITIES:
                raise TemplateError(f"{where}: severity must be one of {SEVERITIES}")
            flags = re.IGNORECASE
            rules.append(
                Rule(
                    id=item["id"],
                    category=item["category"],
                    severity=item["severity"],
                    pattern=re.compile(item["pattern"], flags),
                    message=item["message"],
                    source=item.get("source", ""),
                    unless_followed_by=re.compile(item["unless_followed_by"], flags)
                    if item.get("unless_followed_by")
                    else None,
                    unless_preceded_by=re.compile(item["unless_preceded_by"], flags)
                    if item.get("unless_preceded_by")
                    else None,
                )
            )
    except (OSError, yaml.YAMLError, KeyError, TypeError, re.error) as exc:
        raise TemplateError(f"rule pack is malformed: {exc}", path=str(path)) from exc
    return language, tuple(rules)


def rules_for_language(lang: str) -> list[Rule]:
    rules: list[Rule] = []
    for path in sorted(RULES_DIR.glob("*.yaml")):
        pack_lang, pack_rules = load_rule_pack(path)
        if pack_lang == lang:
            rules.extend(pack_rules)
    return rules


def scan(text: str, lang: str) -> list[Finding]:
    findings = [f for rule in rules_for_language(lang) for f in rule.scan(text)]
    return sorted(findings, key=lambda f: (f.start, f.rule))

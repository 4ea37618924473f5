"""Runs rule packs (data files in ``content/rules/``) over a post; the code holds no rule.

Advertising law (医療広告ガイドライン, FTC, ASA/CAP) changes more often than this code, and the
people who know it are not programmers, so every rule lives in YAML and this module only compiles
and runs it; :mod:`brandkit.content.privacy` runs the packs of ``kind: privacy``. A pack::

    kind: compliance                  # or privacy
    language: ja                      # of the posts it checks and of its messages
    terms: {neg: "ません|ない"}        # regex fragments used as {neg} in patterns, guards, terms
    rules:
      - id: ja-false-guarantee        # unique in the pack
        category: false_claim
        severity: error               # error | warning | info
        patterns: ["絶対(?:に)?安全"]  # a (?P<hit>...) group narrows the flagged span
        message: why it is a problem and what to write instead
        source: the guideline section
        unless_followed_by: "{neg}"   # guards: a regex, or a list that must ALL match
        unless_match, unless_preceded_by, unless_in_sentence, requires_in_sentence,
        unless_in_text, requires_in_text, case_sensitive (default false), validate, allow

Guards: ``unless_match`` searches the matched words, ``unless_followed_by`` matches right
after them, ``unless_preceded_by`` searches the sentence before them, ``unless_in_sentence`` the
sentence around them (not the words themselves, so "No.1" cannot cancel itself through a guard
on "no"), ``requires_in_sentence`` the whole sentence ("症例写真" contains 写真), ``*_in_text`` the
post. Sentences end at 。！？.!? and line breaks. Posts are matched after a length-preserving
fold (full-width ASCII to ASCII, dashes to "-", lower case): offsets index the caller's text.
"""

from __future__ import annotations

import importlib
import re
from bisect import bisect_right
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import yaml

from brandkit.errors import RulePackError

RULES_DIR = Path(__file__).with_name("rules")
SEVERITIES = ("error", "warning", "info")
PACK_KINDS = ("compliance", "privacy")
GUARDS = tuple(
    "unless_match unless_followed_by unless_preceded_by unless_in_sentence"
    " requires_in_sentence unless_in_text requires_in_text".split()
)
_FIELDS = {"id", "category", "severity", "message", "source", "pattern", "patterns"}
_FIELDS |= {"case_sensitive", "validate", "allow", *GUARDS}

Validator = Callable[[str], bool]
"""A check a regex cannot make (a check digit, a threshold): gets the flagged text, says keep."""

_FOLD = {chr(c): chr(c - 0xFEE0) for c in range(0xFF01, 0xFF5F)}  # full-width ASCII
_FOLD |= {ch: "-" for ch in "\u2010\u2011\u2012\u2013\u2014\u2212\ufe63"} | {"\u3000": " "}
_FOLDABLE = re.compile("[" + "".join(map(re.escape, _FOLD)) + "\u00a0]")
_BOUNDARY = re.compile(r"[。！？!?\n]+|\.(?=\s|$)")
_ABBREVIATION = re.compile(r"\b(?:mrs?|ms|dr|st|no|vs|etc|prof|jr|sr|approx|e\.g|i\.e|[a-z])$")
_TERM = re.compile(r"(?<!\\)\{([a-z_][a-z0-9_]*)\}")
_SYNTAX = re.compile(r"\\.|\(\?P<\w+>|\(\?P=\w+\)|\(\?[aiLmsux-]+[:)]", re.DOTALL)
try:  # CPython's own regex parser, only to find the literals every match contains (speed)
    _PARSER: Any = importlib.import_module("re._parser")
except ImportError:  # pragma: no cover - elsewhere every pattern simply runs on every post
    _PARSER = None


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
        return asdict(self)


def fold(text: str) -> str:
    """Full-width ASCII to ASCII and dash look-alikes to "-", one character for one."""
    return _FOLDABLE.sub(lambda m: _FOLD.get(m.group(), " "), text)


def _lower(text: str) -> str:
    """Lower case without changing the length ("İ", the one letter that grows, is kept)."""
    low = text.lower()
    return low if len(low) == len(text) else "".join(c if c == "İ" else c.lower() for c in text)


def _lower_pattern(source: str) -> str:
    """A regex lower-cased to run on lower-cased text; escapes and group syntax are kept."""
    out, pos = [], 0
    for m in _SYNTAX.finditer(source):
        out += [_lower(source[pos : m.start()]), m.group()]
        pos = m.end()
    return "".join([*out, _lower(source[pos:])])


def _class_chars(items: Any) -> list[str]:
    """The characters of a small positive class such as [%％] or [0-9]; [] for any other."""
    chars: list[str] = []
    for op, av in items:
        if str(op) == "LITERAL":
            chars.append(chr(av))
        elif str(op) == "RANGE" and av[1] - av[0] < 10:
            chars += map(chr, range(av[0], av[1] + 1))
        else:
            return []
    return chars if len(chars) <= 10 else []


def _selectivity(anchors: frozenset[str]) -> tuple[bool, int, int]:
    """Rarer is better: longer, fewer, and not starting with hiragana (particles are common)."""
    return not any("ぁ" <= a[0] <= "ゖ" for a in anchors), min(map(len, anchors)), -len(anchors)


def _anchors(items: Any) -> frozenset[str] | None:
    """Literal strings one of which every match of a parsed regex contains (None: unknown).

    RE2's prefilter idea in small: one pass over a post for the anchors of every pattern tells
    which patterns can match at all, and only those run. Runs of literals, small classes and
    literal alternatives multiply out: (?:1|一)位 gives the anchors 1位 and 一位.
    """
    best: frozenset[str] | None = None
    run = {""}

    def consider(found: Iterable[str] | None) -> None:
        nonlocal best
        found = frozenset(_lower(a) for a in found or ())
        if found and "" not in found and (best is None or _selectivity(found) > _selectivity(best)):
            best = found

    for op, av in items:
        name = str(op)
        pieces = [chr(av)] if name == "LITERAL" else _class_chars(av) if name == "IN" else []
        if name == "BRANCH" and all(all(str(o) == "LITERAL" for o, _ in b) for b in av[1]):
            pieces = ["".join(chr(c) for _, c in b) for b in av[1]]
        if pieces and len(run) * len(pieces) <= 64:
            run = {r + p for r in run for p in pieces}
            continue
        consider(run)
        run = {""}
        if name == "BRANCH" and all(found := [_anchors(branch) for branch in av[1]]):
            consider(frozenset().union(*found))  # type: ignore[arg-type]
        elif name == "SUBPATTERN":
            consider(_anchors(av[3]))
        elif name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT") and av[0] >= 1:
            consider(_anchors(av[2]))
    consider(run)
    return best


def _trie(words: Iterable[str]) -> str:
    """A regex for words that shares their prefixes, so ``re`` tries one branch per letter
    instead of every word at every position; at a position it matches the longest word."""
    root: dict[str, Any] = {}
    for word in words:
        node = root
        for ch in word:
            node = node.setdefault(ch, {})
        node[""] = {}

    def build(node: dict[str, Any]) -> str:
        alts = [re.escape(ch) + build(child) for ch, child in sorted(node.items()) if ch]
        body = alts[0] if len(alts) == 1 else f"(?:{'|'.join(alts)})" if alts else ""
        return f"(?:{body})?" if "" in node and body else body

    return build(root)


class Document:
    """One text being scanned: folded, lower-cased, and split into sentences when needed."""

    __slots__ = ("text", "folded", "lowered", "_ends")

    def __init__(self, text: str) -> None:
        self.text = text
        self.folded = fold(text)
        self.lowered = _lower(self.folded)
        self._ends: list[int] | None = None

    def sentence(self, start: int, end: int) -> tuple[int, int]:
        """The span of the sentence(s) holding ``text[start:end]``; "Dr." ends none."""
        if self._ends is None:
            low = self.lowered
            self._ends = [
                m.end()
                for m in _BOUNDARY.finditer(low)
                if m.group() != "."
                or not _ABBREVIATION.search(low, max(0, m.start() - 6), m.start())
            ]
        ends = self._ends
        first, last = bisect_right(ends, start), bisect_right(ends, max(start, end - 1))
        return (ends[first - 1] if first else 0, ends[last] if last < len(ends) else len(self.text))


_WORD_BOUNDARY = re.compile(r"\b")


@dataclass(frozen=True)
class Matcher:
    """One pattern. A leading ``\\b`` is checked apart from the regex so that ``re`` sees the
    literal the pattern starts with and skips ahead to it instead of trying every position."""

    regex: re.Pattern[str]
    boundary: bool = False
    anchors: frozenset[str] | None = None

    def spans(self, text: str) -> Iterator[tuple[int, int, int, int]]:
        """(match start, match end, flagged start, flagged end) for every match."""
        pos, search, has_hit = 0, self.regex.search, "hit" in self.regex.groupindex
        while (m := search(text, pos)) is not None:
            start, end = m.span()
            pos = end if end > start else end + 1
            if self.boundary and not _WORD_BOUNDARY.match(text, start):
                pos = start + 1
                continue
            yield start, end, *(m.span("hit") if has_hit and m.start("hit") >= 0 else m.span())


@dataclass(frozen=True)
class Rule:
    """One compiled rule: its patterns, its context guards and, for privacy, its code check."""

    id: str
    category: str
    severity: str
    matchers: tuple[Matcher, ...]
    message: str
    source: str
    ignore_case: bool = True
    guards: tuple[tuple[str, tuple[re.Pattern[str], ...]], ...] = ()
    validate: Validator | None = None
    allow: str | None = None

    def findings(self, doc: Document, matchers: Iterable[Matcher] = ()) -> Iterator[Finding]:
        """Findings in ``doc`` (by ``matchers``, default all); overlapping spans become one."""
        text = doc.lowered if self.ignore_case else doc.folded
        spans: list[tuple[int, int]] = []
        text_ok: bool | None = None  # the whole-post guards give one answer per post
        for matcher in matchers or self.matchers:
            for start, end, hit_start, hit_end in matcher.spans(text):
                if hit_start == hit_end:
                    continue
                if self.validate is not None and not self.validate(doc.folded[hit_start:hit_end]):
                    continue
                if text_ok is None:
                    text_ok = self._passes({"unless_in_text": text, "requires_in_text": text})
                if text_ok and self._passes(self._sentence_parts(doc, text, start, end)):
                    spans.append((hit_start, hit_end))
        merged: list[list[int]] = []
        for start, end in sorted(spans):
            if merged and start < merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], end)
            else:
                merged.append([start, end])
        for start, end in merged:
            yield Finding(
                self.id, self.category, self.severity, start, end, self.message, self.source
            )

    @staticmethod
    def _sentence_parts(doc: Document, text: str, start: int, end: int) -> dict[str, str]:
        """What each sentence guard looks at, around the matched words text[start:end]."""
        s_start, s_end = doc.sentence(start, end)
        before, after = text[s_start:start], text[end:s_end]
        return {
            "unless_match": text[start:end],
            "unless_followed_by": after,
            "unless_preceded_by": before,
            "unless_in_sentence": f"{before} {after}",
            "requires_in_sentence": text[s_start:s_end],
        }

    def _passes(self, subjects: Mapping[str, str]) -> bool:
        """Whether the guards that look at ``subjects`` let the finding stand."""
        for name, patterns in self.guards:
            if name in subjects:
                look = "match" if name == "unless_followed_by" else "search"
                found = all(getattr(p, look)(subjects[name]) for p in patterns)
                if found != name.startswith("requires"):
                    return False
        return True


class RuleSet(tuple[Rule, ...]):
    """Rules run together. One pass of a gate regex over all the patterns' anchors tells which
    patterns can match; only those run, so a clean post costs a few regex passes. The gate finds
    the longest anchor at each position; the shorter ones there are its prefixes."""

    _gate: re.Pattern[str] | None
    _prefixes: dict[str, frozenset[str]]
    _by_anchor: dict[str, list[tuple[int, int]]]
    _always: list[tuple[int, int]]

    def __new__(cls, rules: Iterable[Rule] = ()) -> RuleSet:
        self = super().__new__(cls, rules)
        self._always, self._by_anchor = [], {}
        for index, rule in enumerate(self):
            for n, matcher in enumerate(rule.matchers):
                for anchor in matcher.anchors or ():
                    self._by_anchor.setdefault(anchor, []).append((index, n))
                if matcher.anchors is None:
                    self._always.append((index, n))
        words = self._by_anchor.keys()
        self._prefixes = {w: frozenset(a for a in words if w.startswith(a)) for w in words}
        self._gate = re.compile(_trie(words)) if words else None
        return self

    def scan(self, text: str, keep: Callable[[Rule, Finding], bool] | None = None) -> list[Finding]:
        """Every finding in ``text`` that ``keep`` accepts, ordered by position then rule."""
        doc = Document(text)
        present: set[str] = set()
        if self._gate is not None:  # anchors may overlap: search again one past each start
            pos, search = 0, self._gate.search
            while (m := search(doc.lowered, pos)) is not None:
                present |= self._prefixes[m.group()]
                pos = m.start() + 1
        active = set(self._always).union(*(self._by_anchor[a] for a in present))
        found: set[Finding] = set()
        for index in sorted({index for index, _ in active}):
            rule = self[index]
            matchers = [m for n, m in enumerate(rule.matchers) if (index, n) in active]
            found.update(f for f in rule.findings(doc, matchers) if keep is None or keep(rule, f))
        return sorted(found, key=lambda f: (f.start, f.end, f.rule))


def _read_pack(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise RulePackError(f"cannot read the rule pack: {exc}", path=path) from exc
    except yaml.YAMLError as exc:
        raise RulePackError(f"the rule pack is not valid YAML: {exc}", path=path) from exc
    if not isinstance(data, dict):
        raise RulePackError("a rule pack must be a mapping with 'language' and 'rules'", path=path)
    return data


def _expand(source: str, terms: Mapping[str, str], fail: Callable[[str], Exception]) -> str:
    """Replace ``{name}`` by the term (whose own ``{names}`` are expanded too, 10 deep at most)."""
    for _ in range(10):
        if not _TERM.search(source):
            return source
        for name in _TERM.findall(source):
            if name not in terms:
                raise fail(f"uses {{{name}}}, which is not in the pack's terms")
        source = _TERM.sub(lambda m: f"(?:{terms[m.group(1)]})", source)
    raise fail("uses terms that refer to each other in a circle")


def _strings(value: Any, fail: Callable[[str], Exception], field: str) -> list[str]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not items or not all(isinstance(i, str) for i in items):
        raise fail(f"{field} must be a string or a non-empty list of strings")
    return items


def _build_rule(
    item: dict[str, Any],
    terms: Mapping[str, str],
    fail: Callable[[str], Exception],
    validators: Mapping[str, Validator],
    allow_kinds: Collection[str],
) -> Rule:
    missing = [k for k in ("id", "category", "severity", "message", "source") if not item.get(k)]
    if missing:
        raise fail(f"missing field(s): {', '.join(missing)}")
    if unknown := sorted(set(item) - _FIELDS):
        raise fail(f"unknown field(s): {', '.join(unknown)}")
    if item["severity"] not in SEVERITIES:
        raise fail(f"severity {item['severity']!r} must be one of {', '.join(SEVERITIES)}")
    if ("pattern" in item) == ("patterns" in item):
        raise fail("give exactly one of 'patterns' or 'pattern'")
    if item.get("validate") is not None and item["validate"] not in validators:
        raise fail(f"validate {item['validate']!r} is not one of: {', '.join(validators) or '-'}")
    if item.get("allow") is not None and item["allow"] not in allow_kinds:
        raise fail(f"allow {item['allow']!r} is not one of: {', '.join(allow_kinds) or '-'}")
    ignore_case = not item.get("case_sensitive")

    def compile_(source: str, field: str) -> re.Pattern[str]:
        expanded = _expand(source, terms, lambda why: fail(f"{field} {why}"))
        try:
            return re.compile(_lower_pattern(expanded) if ignore_case else expanded)
        except re.error as exc:
            raise fail(f"{field} is not a valid regular expression ({exc}): {source!r}") from exc

    matchers = []
    for n, source in enumerate(
        _strings(item.get("patterns", item.get("pattern")), fail, "patterns")
    ):
        boundary = source.startswith("\\b")
        regex = compile_(source[2:] if boundary else source, f"patterns[{n}]")
        anchors = _anchors(_PARSER.parse(regex.pattern)) if _PARSER else None
        matchers.append(Matcher(regex, boundary, anchors))
    guards = tuple(
        (g, tuple(compile_(s, g) for s in _strings(item[g], fail, g))) for g in GUARDS if g in item
    )
    return Rule(
        id=str(item["id"]),
        category=str(item["category"]),
        severity=str(item["severity"]),
        matchers=tuple(matchers),
        message=" ".join(str(item["message"]).split()),
        source=str(item["source"]).strip(),
        ignore_case=ignore_case,
        guards=guards,
        validate=validators.get(item.get("validate") or ""),
        allow=item.get("allow"),
    )


def load_rule_pack(
    path: Path,
    *,
    validators: Mapping[str, Validator] | None = None,
    allow_kinds: Collection[str] = (),
) -> RuleSet:
    """Parse and compile one pack. Every problem is a :class:`RulePackError` that names the file
    and the rule, because the people who edit packs need to know where to look."""
    data = _read_pack(path)
    if data.get("kind", "compliance") not in PACK_KINDS:
        raise RulePackError(f"kind must be one of {', '.join(PACK_KINDS)}", path=path)
    if not isinstance(data.get("language"), str) or not isinstance(data.get("rules"), list):
        raise RulePackError("a rule pack needs 'language' (text) and 'rules' (a list)", path=path)
    terms = data.get("terms") or {}
    if not isinstance(terms, dict) or not all(isinstance(v, str) for v in terms.values()):
        raise RulePackError("'terms' must map names to regex fragments (text)", path=path)
    rules: list[Rule] = []
    for index, item in enumerate(data["rules"]):
        rule_id = str(item.get("id") or "") if isinstance(item, dict) else ""

        def fail(why: str, rule_id: str = rule_id or f"rules[{index}]") -> RulePackError:
            return RulePackError(why, path=path, rule_id=rule_id)

        if not isinstance(item, dict):
            raise fail("each rule must be a mapping")
        rules.append(_build_rule(item, terms, fail, validators or {}, allow_kinds))
        if any(r.id == rules[-1].id for r in rules[:-1]):
            raise fail("the id is used twice in this pack")
    return RuleSet(rules)


_CACHE: dict[tuple[Path, str, str], RuleSet] = {}


def rules_for_language(
    lang: str,
    kind: str = "compliance",
    *,
    rules_dir: Path = RULES_DIR,
    validators: Mapping[str, Validator] | None = None,
    allow_kinds: Collection[str] = (),
) -> RuleSet:
    """All rules of ``kind`` for ``lang`` ("ja", "en"; "ja-JP" counts as "ja"), compiled once."""
    key = (rules_dir, kind, lang.split("-")[0].lower())
    if key not in _CACHE:
        rules: list[Rule] = []
        for path in sorted(rules_dir.glob("*.yaml")):
            head = _read_pack(path)
            if head.get("kind", "compliance") == kind and head.get("language") == key[2]:
                rules += load_rule_pack(path, validators=validators, allow_kinds=allow_kinds)
        _CACHE[key] = RuleSet(rules)
    return _CACHE[key]


def clear_cache() -> None:
    """Forget compiled packs, e.g. after someone edited a pack in a running process."""
    _CACHE.clear()


def scan(text: str, lang: str) -> list[Finding]:
    """The medical-advertising findings for a post written in ``lang``."""
    return rules_for_language(lang).scan(text)

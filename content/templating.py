"""Templates as data: sandboxed Jinja2 rendering of section templates into blocks.

A template's source is a mapping (stored as JSON in the database)::

    kind: safety
    version: "2026.11.1"
    title: "Is {{ compound.name }} Safe for {{ condition.full_name }} Patients?"
    byline: "By {{ publisher.name }}"
    notice: "{{ publisher.notice }}"
    description: "..."             # SEO description
    sections:
      - {key: intro, heading: "...", body: "..."}

A body is light markup: blocks are separated by blank lines, a block whose
lines start with ``- `` is a list, ``Q:`` / ``A:`` lines are FAQ pairs, and
``**...**`` is bold. Every value a template prints (``{{ ... }}``) is wrapped in
private-use sentinels by the environment's ``finalize`` hook, so the parser
treats facts as literal text: a compound named ``- **x**`` stays text, never
markup, and no fact can ever inject a heading, a list item or HTML.

Templates are checked when imported (syntax, unknown variables, unknown
attributes of the facts, a sample render of every branch) so a bad template
never reaches render time.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from jinja2 import StrictUndefined, TemplateError
from jinja2.sandbox import SandboxedEnvironment

from content.document import Block, Page, Section, is_empty
from content.markup import CLOSE, OPEN, SEP, MarkupError, parse_markup, plain
from content.template_checks import (
    MANDATORY_SECTIONS,
    SECTION_KEYS,
    SINGLE_FIELDS,
    TemplateInvalid,
    TemplateProblem,
    dedupe,
    render_line,
    sample_facts,
    short,
    static_problems,
)

_SENTINELS = re.compile(f"[{OPEN}{CLOSE}{SEP}]")


@lru_cache(maxsize=8192)
def _literal(text: str) -> str:
    if OPEN in text or CLOSE in text or SEP in text:
        text = _SENTINELS.sub("", text)
    text = " ".join(text.split())
    return f"{OPEN}{text}{CLOSE}" if text else ""


def _finalize(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        value = "; ".join(str(v) for v in value)
    return _literal(str(value))


# What ``getattr`` finds on a dict (its methods and object's): any other name of a dict
# is looked up as its key, as the sandbox does.
_DICT_ATTRIBUTES = frozenset(dir(dict))


class _Environment(SandboxedEnvironment):
    """The sandbox, with ``facts.name`` on the facts' dicts looked up as a key at once:
    what the sandbox returns for it, without its failed attribute lookup first."""

    def getattr(self, obj: Any, attribute: str) -> Any:
        if type(obj) is dict and attribute not in _DICT_ATTRIBUTES and attribute in obj:
            return obj[attribute]
        return super().getattr(obj, attribute)


def make_environment() -> SandboxedEnvironment:
    return _Environment(
        undefined=StrictUndefined,
        finalize=_finalize,
        autoescape=False,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
    )


@dataclass(slots=True)
class _SectionTemplate:
    key: str
    position: int
    heading: Any
    body: Any


class CompiledTemplate:
    """A validated template, compiled once and rendered for many fact sets."""

    def __init__(self, source: dict[str, Any], path: str = "template"):
        self.source = source
        self.kind = str(source.get("kind", "")).upper()
        self.version = str(source.get("version", ""))
        env = make_environment()
        problems = check_source(source, path, env)
        if problems:
            raise TemplateInvalid(problems)
        self._fields = {f: env.from_string(str(source.get(f) or "")) for f in SINGLE_FIELDS}
        self._sections = [
            _SectionTemplate(
                key=s["key"].upper(),
                position=i,
                heading=env.from_string(str(s.get("heading") or "")),
                body=env.from_string(str(s.get("body") or "")),
            )
            for i, s in enumerate(source["sections"])
        ]
        # Render every branch once now: a template that fails on real-shaped
        # facts is rejected here, never at render time.
        render_problems: list[TemplateProblem] = []
        for research in ("SPECIFIC", "LIMITED"):
            for notice in ("", "notice"):
                render_problems.extend(self._probe(sample_facts(research, notice), path))
        if render_problems:
            raise TemplateInvalid(dedupe(render_problems))
        # For speed, the whole page is one template: one render per page instead
        # of one per field. Parts are split on a separator no fact can contain.
        parts = [str(source.get(f) or "") for f in SINGLE_FIELDS]
        for s in source["sections"]:
            parts += [str(s.get("heading") or ""), str(s.get("body") or "")]
        self._page = env.from_string(f"\n{SEP}\n".join(parts))

    def _probe(self, facts: dict[str, Any], path: str) -> list[TemplateProblem]:
        problems: list[TemplateProblem] = []
        for f, tpl in self._fields.items():
            try:
                plain(tpl.render(facts))
            except (TemplateError, MarkupError, ArithmeticError, TypeError, ValueError) as exc:
                problems.append(
                    TemplateProblem(f"{path}.{f}", str(exc), render_line(exc, "<template>"))
                )
        for i, s in enumerate(self._sections):
            for part, tpl in (("heading", s.heading), ("body", s.body)):
                try:
                    out = tpl.render(facts)
                    if part == "body":
                        parse_markup(out)
                    else:
                        plain(out)
                except (TemplateError, MarkupError, ArithmeticError, TypeError, ValueError) as exc:
                    problems.append(
                        TemplateProblem(
                            f"{path}.sections[{i}].{part}",
                            str(exc),
                            render_line(exc, "<template>"),
                        )
                    )
        if not problems:
            page = self.compose(facts)
            for key in MANDATORY_SECTIONS:
                sec = next((s for s in page.sections if s.key == key.upper()), None)
                if sec is None or is_empty(sec.blocks):
                    problems.append(
                        TemplateProblem(f"{path}.sections", f"section '{key}' renders empty")
                    )
        return problems

    def compose(
        self, facts: dict[str, Any], parse: Callable[[str], list[Block]] = parse_markup
    ) -> Page:
        """The page of ``facts``; ``parse`` reads each section's markup (generation's
        workers pass a memo of it: many pages share a section's text)."""
        parts = self._page.render(facts).split(SEP) if hasattr(self, "_page") else None
        if parts is None:
            parts = [t.render(facts) for t in self._fields.values()]
            for s in self._sections:
                parts += [s.heading.render(facts), s.body.render(facts)]
        title, description = plain(parts[0]), plain(parts[3])
        byline, notice = _plain_memo(parts[1]), _plain_memo(parts[2])
        sections = []
        for i, s in enumerate(self._sections):
            heading = _plain_memo(parts[4 + 2 * i]) or None
            blocks = parse(parts[5 + 2 * i])
            sections.append(Section(s.key, s.position, heading, blocks))
        disclaimer = next((s for s in sections if s.key == "DISCLAIMER"), None)
        if disclaimer is None or is_empty(disclaimer.blocks):
            # Unreachable for a validated template; a page without its
            # disclaimer must never exist, so fail loudly rather than store one.
            raise MarkupError("the disclaimer rendered empty")
        return Page(title, byline, notice, sections, description)


# Bylines, notices and headings recur from page to page (most print no fact, or only a
# compound's or a condition's): each text read once (``plain`` is pure, its result a str).
_plain_memo = lru_cache(maxsize=4096)(plain)


def check_source(
    source: Any, path: str = "template", env: SandboxedEnvironment | None = None
) -> list[TemplateProblem]:
    """Structural and static checks of a template source (no rendering)."""
    env = env or make_environment()
    if not isinstance(source, dict):
        return [TemplateProblem(path, "a template must be a mapping")]
    problems: list[TemplateProblem] = []
    kind = short(source.get("kind", "")).upper()
    if kind != "SAFETY":
        problems.append(
            TemplateProblem(
                f"{path}.kind", f"unknown review kind {short(source.get('kind'), quoted=True)}"
            )
        )
    version = source.get("version")
    if not isinstance(version, (str, int, float)) or not re.fullmatch(
        r"[0-9A-Za-z][0-9A-Za-z._-]{0,39}", short(version)
    ):
        problems.append(
            TemplateProblem(f"{path}.version", 'a version (e.g. "2026.11.1") is required')
        )
    for f in ("title", "byline"):
        if not isinstance(source.get(f), str) or not source[f].strip():
            problems.append(TemplateProblem(f"{path}.{f}", "required"))
    for f in SINGLE_FIELDS:
        value = source.get(f)
        if value is not None and not isinstance(value, str):
            problems.append(TemplateProblem(f"{path}.{f}", "must be a string"))
        elif value:
            problems.extend(static_problems(env, value, f"{path}.{f}"))
    sections = source.get("sections")
    if not isinstance(sections, list) or not sections:
        problems.append(TemplateProblem(f"{path}.sections", "a list of sections is required"))
        return problems
    keys: list[str] = []
    for i, s in enumerate(sections):
        spath = f"{path}.sections[{i}]"
        if not isinstance(s, dict):
            problems.append(TemplateProblem(spath, "a section must be a mapping"))
            continue
        key = short(s.get("key", "")).lower()
        if key not in SECTION_KEYS:
            problems.append(
                TemplateProblem(
                    f"{spath}.key",
                    f"unknown section key {short(s.get('key'), quoted=True)} "
                    f"(one of {', '.join(SECTION_KEYS)})",
                )
            )
        elif key in keys:
            problems.append(TemplateProblem(f"{spath}.key", f"duplicate section key '{key}'"))
        keys.append(key)
        unknown = set(s) - {"key", "heading", "body"}
        if unknown:
            problems.append(TemplateProblem(spath, f"unknown fields: {', '.join(sorted(unknown))}"))
        for part in ("heading", "body"):
            value = s.get(part)
            if value is None:
                continue
            if not isinstance(value, str):
                problems.append(TemplateProblem(f"{spath}.{part}", "must be a string"))
                continue
            problems.extend(static_problems(env, value, f"{spath}.{part}"))
        if not isinstance(s.get("body"), str) or not s["body"].strip():
            problems.append(TemplateProblem(f"{spath}.body", "required"))
    if kind == "SAFETY":
        for key in MANDATORY_SECTIONS:
            if key not in keys:
                problems.append(TemplateProblem(f"{path}.sections", f"missing section '{key}'"))
    return problems

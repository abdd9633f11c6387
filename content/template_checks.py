"""What a template may contain: its section keys, the facts it may print, and the problems
found when checking one (the static checks of ``check_source`` in content/templating.py, and
the sample facts every branch of a template is rendered with before it is accepted).
"""

from __future__ import annotations

import traceback
from dataclasses import dataclass
from typing import Any

from jinja2 import TemplateSyntaxError, meta, nodes
from jinja2.sandbox import SandboxedEnvironment

# Sections a SAFETY page may never be without (the publish gate checks them too).
MANDATORY_SECTIONS = (
    "intro",
    "safety_profile",
    "considerations",
    "literature",
    "bottom_line",
    "disclaimer",
)
# Every section key a template may use, in page order: the mandatory ones, then these.
SECTION_KEYS = (*MANDATORY_SECTIONS, "cta", "faq")

# The facts a template may use: nested dicts are objects, None is a leaf value.
_CITATION = {"kind": None, "value": None, "title": None, "url": None}
FACTS_SCHEMA: dict[str, Any] = {
    "compound": {
        "slug": None,
        "name": None,
        "aliases": None,
        "drug_class": None,
        "safety_profile": None,
        "regulatory_status": None,
        "evidence_level": None,
        "mechanisms": None,
        "rxnorm": None,
        "mesh": None,
        "citations": _CITATION,
    },
    "condition": {
        "slug": None,
        "name": None,
        "full_name": None,
        "specialist": None,
        "aliases": None,
        "icd10": None,
        "mesh": None,
    },
    "evidence": {"research": None, "notes": None, "citations": _CITATION},
    "publisher": {
        "name": None,
        "medical_advisor": {"name": None, "credentials": None},
        "cta": None,
        "notice": None,
    },
}


@dataclass(slots=True)
class TemplateProblem:
    path: str
    message: str
    line: int | None = None

    def __str__(self) -> str:
        where = f"{self.path} line {self.line}" if self.line else self.path
        return f"{where}: {self.message}"


class TemplateInvalid(ValueError):
    def __init__(self, problems: list[TemplateProblem]):
        self.problems = problems
        super().__init__("; ".join(str(p) for p in problems))


# The template fields that are one line of text each.
SINGLE_FIELDS = ("title", "byline", "notice", "description")


def _attr_chain(node: nodes.Node) -> list[str] | None:
    chain: list[str] = []
    while True:
        if isinstance(node, nodes.Getattr):
            chain.append(node.attr)
            node = node.node
        elif isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const):
            chain.append(str(node.arg.value))
            node = node.node
        elif isinstance(node, nodes.Name):
            chain.append(node.name)
            return list(reversed(chain))
        else:
            return None


def static_problems(env: SandboxedEnvironment, source: str, path: str) -> list[TemplateProblem]:
    try:
        ast = env.parse(source)
    except TemplateSyntaxError as exc:
        return [TemplateProblem(path, f"syntax error: {exc.message}", exc.lineno)]
    problems: list[TemplateProblem] = []
    for name in sorted(meta.find_undeclared_variables(ast)):
        if name not in FACTS_SCHEMA:
            line = next((n.lineno for n in ast.find_all(nodes.Name) if n.name == name), None)
            problems.append(TemplateProblem(path, f"unknown variable '{name}'", line))
    seen: set[int] = set()
    for node in ast.find_all((nodes.Getattr, nodes.Getitem)):
        if id(node) in seen:
            continue
        chain = _attr_chain(node)
        if not chain or chain[0] not in FACTS_SCHEMA:
            continue
        # Only look at the outermost access of a chain.
        inner: nodes.Node = node.node  # type: ignore[attr-defined]
        while isinstance(inner, (nodes.Getattr, nodes.Getitem)):
            seen.add(id(inner))
            inner = inner.node
        spec: Any = FACTS_SCHEMA
        for depth, part in enumerate(chain):
            if not isinstance(spec, dict) or part not in spec:
                known = ", ".join(sorted(spec)) if isinstance(spec, dict) else "none"
                problems.append(
                    TemplateProblem(
                        path,
                        f"unknown variable '{'.'.join(chain[: depth + 1])}' (known here: {known})",
                        node.lineno,
                    )
                )
                break
            spec = spec[part]
    return problems


def render_line(exc: BaseException, name: str) -> int | None:
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        if frame.filename == name:
            return frame.lineno
    return getattr(exc, "lineno", None)


def sample_facts(research: str = "LIMITED", notice: str = "") -> dict[str, Any]:
    cite = [{"kind": "PMID", "value": "12345678", "title": "t", "url": "https://x"}]
    return {
        "compound": {
            "slug": "sample",
            "name": "Sample",
            "aliases": ["alias"],
            "drug_class": "Class",
            "safety_profile": ["One", "two"],
            "regulatory_status": "Status",
            "evidence_level": "Level",
            "mechanisms": ["m1", "m2"],
            "rxnorm": None,
            "mesh": None,
            "citations": cite,
        },
        "condition": {
            "slug": "cond",
            "name": "Cond",
            "full_name": "Cond (Condition)",
            "specialist": "specialist",
            "aliases": [],
            "icd10": None,
            "mesh": None,
        },
        "evidence": {"research": research, "notes": "", "citations": cite},
        "publisher": {
            "name": "P",
            "medical_advisor": {"name": "A", "credentials": "MD"},
            "cta": "cta",
            "notice": notice,
        },
    }


def dedupe(problems: list[TemplateProblem]) -> list[TemplateProblem]:
    seen: set[str] = set()
    out = []
    for p in problems:
        if str(p) not in seen:
            seen.add(str(p))
            out.append(p)
    return out


def short(value: Any, quoted: bool = False) -> str:
    """A value for a message: only text is shown, and only its start. (A YAML alias bomb
    is small as a file and enormous as a string: never print a structure.)"""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        return f"<{type(value).__name__}>"
    text = value if len(value) <= 60 else value[:60] + "…"
    return repr(text) if quoted else text

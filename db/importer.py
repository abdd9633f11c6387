"""Catalog files: validate everything, then upsert by slug in one transaction.

A file is checked as a whole before anything is written: every problem is
reported with its path (``compounds[3].slug``), and one bad row rejects the
whole file, leaving the database exactly as it was. Importing the same file
twice changes nothing the second time (rows whose facts are unchanged keep
their revision and timestamps).

A file cannot be made into a bomb: YAML aliases and what they expand to, rows
per section and the problems listed are capped (``MAX_*`` below, README: Limits
and security), so the work and the error report stay proportional to the file.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Annotated, Any, Literal
from urllib.parse import urlparse

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    TypeAdapter,
    ValidationError,
    model_validator,
)
from sqlalchemy import delete, insert
from sqlmodel import Session, select
from yaml.composer import Composer, ComposerError
from yaml.constructor import SafeConstructor
from yaml.events import AliasEvent
from yaml.nodes import MappingNode, Node, ScalarNode
from yaml.resolver import Resolver

from content.facts import (
    citation_facts,
    citations_of,
    compound_facts,
    condition_facts,
    content_hash,
    evidence_facts,
    publisher_facts,
)
from content.text_safety import clean_name, name_key, name_problem
from db.models import (
    Citation,
    Compound,
    Condition,
    Evidence,
    Publisher,
    Research,
    ReviewKind,
    Template,
    utcnow,
)

try:
    from yaml.cyaml import CParser as _Events  # libyaml
except ImportError:  # pragma: no cover - PyYAML built without libyaml
    from yaml.parser import Parser
    from yaml.reader import Reader
    from yaml.scanner import Scanner

    class _Events(Reader, Scanner, Parser):  # type: ignore[no-redef]
        def __init__(self, stream: str) -> None:
            Reader.__init__(self, stream)
            Scanner.__init__(self)
            Parser.__init__(self)


# Caps (README: Limits and security). A few aliases are a fair use of YAML (a shared
# list); the flat and nested "billion laughs" shapes are not.
MAX_YAML_ALIASES = 100
MAX_YAML_ALIAS_NODES = 10_000  # nodes aliases may add once expanded; 100 characters = 1
MAX_ROWS = {"compounds": 10_000, "conditions": 10_000, "evidence": 500_000, "templates": 1_000}
MAX_REPORTED_PROBLEMS = 100
_CHUNK = 1_000  # rows validated at a time, so that problems past the cap are only counted

SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_CONTROL_MULTILINE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def _line(v: str) -> str:
    if _CONTROL.search(v):
        raise ValueError("must be a single line without control characters")
    return v


def _text(v: str) -> str:
    if _CONTROL_MULTILINE.search(v):
        raise ValueError("must not contain control characters")
    return v


def _slug(v: str) -> str:
    if not SLUG_RE.match(v):
        raise ValueError(
            "must be lowercase letters and digits joined by single hyphens (e.g. 'low-dose-naltrexone')"
        )
    return v


Slug = Annotated[str, StringConstraints(min_length=1, max_length=80), AfterValidator(_slug)]
Line = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=200),
    AfterValidator(_line),
]
OptLine = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=200), AfterValidator(_line)
]
LongLine = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=1000),
    AfterValidator(_line),
]
Text = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=5000), AfterValidator(_text)
]
Code = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[A-Za-z0-9.\-]{1,20}$")]


def _clean_name(v: Any) -> Any:
    return clean_name(v) if isinstance(v, str) else v


def _safe_name(v: str) -> str:
    problem = name_problem(v)
    if problem:
        raise ValueError(problem)
    return v


# Display names (README: Catalog files, "Names"): stored without invisible characters
# and NFKC-normalised, refused when they mix scripts within a word or cannot be shown.
Name = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=200),
    BeforeValidator(_clean_name),
    AfterValidator(_line),
    AfterValidator(_safe_name),
]
OptName = Annotated[
    str,
    StringConstraints(strip_whitespace=True, max_length=200),
    BeforeValidator(_clean_name),
    AfterValidator(_line),
    AfterValidator(_safe_name),
]


def _upper(v: Any) -> Any:
    return v.upper() if isinstance(v, str) else v


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, str_strip_whitespace=True)


class CitationIn(_Model):
    """Exactly one identifier: pmid, doi, nct or url; an optional title."""

    pmid: Annotated[str, StringConstraints(pattern=r"^[1-9][0-9]{0,8}$")] | None = None
    doi: Annotated[str, StringConstraints(pattern=r"^10\.[0-9]{4,9}/[^\s]{1,300}$")] | None = None
    nct: Annotated[str, StringConstraints(pattern=r"^NCT[0-9]{8}$")] | None = None
    url: Annotated[str, StringConstraints(max_length=500)] | None = None
    title: OptLine = ""

    @model_validator(mode="after")
    def _one(self) -> CitationIn:
        given = [k for k in ("pmid", "doi", "nct", "url") if getattr(self, k)]
        if len(given) != 1:
            raise ValueError("a citation needs exactly one of pmid, doi, nct or url")
        if self.url is not None:
            parsed = urlparse(self.url)
            if parsed.scheme not in ("http", "https") or not parsed.netloc or " " in self.url:
                raise ValueError("url must be an absolute http(s) URL")
        return self

    @property
    def kind_value(self) -> tuple[str, str]:
        for k in ("pmid", "doi", "nct", "url"):
            v = getattr(self, k)
            if v:
                return k.upper(), v
        raise AssertionError


class AdvisorIn(_Model):
    name: Name
    credentials: OptName = ""


class PublisherIn(_Model):
    name: Name
    medical_advisor: AdvisorIn
    cta: Text = ""
    notice: Text = ""


class CompoundIn(_Model):
    slug: Slug
    name: Name
    aliases: list[Name] = Field(default_factory=list, max_length=50)
    drug_class: Name
    safety_profile: list[Line] = Field(min_length=1, max_length=30)
    regulatory_status: LongLine
    evidence_level: LongLine
    mechanisms: list[Line] = Field(min_length=1, max_length=30)
    rxnorm: Annotated[str, StringConstraints(pattern=r"^[0-9]{1,10}$")] | None = None
    mesh: Annotated[str, StringConstraints(pattern=r"^[CD][0-9]{6,9}$")] | None = None
    citations: list[CitationIn] = Field(default_factory=list, max_length=100)


class ConditionIn(_Model):
    slug: Slug
    name: Name
    full_name: Name | None = None
    specialist: Name
    aliases: list[Name] = Field(default_factory=list, max_length=50)
    icd10: (
        Annotated[str, StringConstraints(pattern=r"^[A-TV-Z][0-9][0-9A-Z](\.[0-9A-Z]{1,4})?$")]
        | None
    ) = None
    mesh: Annotated[str, StringConstraints(pattern=r"^[CD][0-9]{6,9}$")] | None = None


class EvidenceIn(_Model):
    compound: Slug
    condition: Slug
    research: Annotated[Literal["SPECIFIC", "LIMITED"], BeforeValidator(_upper)]
    notes: Text = ""
    citations: list[CitationIn] = Field(default_factory=list, max_length=100)


class CatalogIn(_Model):
    publisher: PublisherIn | None = None
    compounds: list[CompoundIn] = Field(default_factory=list)
    conditions: list[ConditionIn] = Field(default_factory=list)
    evidence: list[EvidenceIn] = Field(default_factory=list)
    templates: list[dict[str, Any]] = Field(default_factory=list)


# --- errors --------------------------------------------------------------------------------


@dataclass(slots=True)
class CatalogProblem:
    path: str
    message: str
    line: int | None = None

    def __str__(self) -> str:
        where = f"{self.path} (line {self.line})" if self.line else self.path
        return f"{where}: {self.message}"


class CatalogInvalid(ValueError):
    """A refused catalog: its first problems (``MAX_REPORTED_PROBLEMS``) and how many in all."""

    def __init__(self, source: str, problems: list[CatalogProblem], total: int | None = None):
        self.source = source
        self.problems = problems[:MAX_REPORTED_PROBLEMS]
        self.total = max(total or 0, len(problems))
        lines = "\n".join(f"  {source}: {p}" for p in self.problems)
        if self.total > len(self.problems):
            more = self.total - len(self.problems)
            lines += f"\n  {source}: ... and {more:,} more problem(s) not listed"
        super().__init__(f"{source}: {self.total} problem(s), nothing was imported\n{lines}")


class _Problems:
    """The problems found so far: the first ``MAX_REPORTED_PROBLEMS`` kept, all counted."""

    def __init__(self) -> None:
        self.kept: list[CatalogProblem] = []
        self.total = 0

    def append(self, problem: CatalogProblem) -> None:
        self.total += 1
        if len(self.kept) < MAX_REPORTED_PROBLEMS:
            self.kept.append(problem)

    def extend(self, problems: Iterable[CatalogProblem]) -> None:
        for problem in problems:
            self.append(problem)

    def add_validation(self, exc: ValidationError, section: str = "", offset: int = 0) -> None:
        """Pydantic's errors, spelled out only while they are still to be listed."""
        if len(self.kept) >= MAX_REPORTED_PROBLEMS:
            self.total += exc.error_count()
        else:
            self.extend(_pydantic_problems(exc, section, offset))

    def __bool__(self) -> bool:
        return self.total > 0


def _loc(loc: Iterable[Any]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "(file)"


def _pydantic_problems(
    exc: ValidationError, section: str = "", offset: int = 0
) -> list[CatalogProblem]:
    """Problems from pydantic's errors; rows validated apart are ``section[offset + i]``."""
    problems = []
    for err in exc.errors(include_url=False):
        loc = [p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-"))]
        if section and loc and isinstance(loc[0], int):
            loc = [section, loc[0] + offset, *loc[1:]]
        elif section:
            loc = [section, *loc]
        msg = err["msg"]
        if msg.startswith("Value error, "):
            msg = msg[len("Value error, ") :]
        if err["type"] == "extra_forbidden":
            msg = "unknown field"
        problems.append(CatalogProblem(_loc(loc), msg))
    return problems


# --- reading -------------------------------------------------------------------------------


class _CatalogLoader(Composer, SafeConstructor, Resolver, _Events):
    """YAML's safe loader (libyaml's parser when present: about 5x faster than PyYAML's
    own), refusing alias bombs while composing, before anything is expanded: at most
    ``MAX_YAML_ALIASES`` aliases, adding at most ``MAX_YAML_ALIAS_NODES`` nodes once
    expanded, and no alias inside its own anchor."""

    def __init__(self, stream: str) -> None:
        _Events.__init__(self, stream)
        SafeConstructor.__init__(self)
        Resolver.__init__(self)
        Composer.__init__(self)
        self._aliases = 0
        self._added = 0
        self._sizes: dict[int, int] = {}  # id(node) -> its size once expanded

    def _refuse(self, problem: str, mark: Any) -> yaml.MarkedYAMLError:
        return ComposerError(None, None, problem, mark)

    def compose_node(self, parent: Node | None, index: int) -> Node | None:
        if not self.check_event(AliasEvent):
            node = super().compose_node(parent, index)
            if node is not None:
                self._sizes[id(node)] = self._size(node)
            return node
        mark = self.peek_event().start_mark
        self._aliases += 1
        if self._aliases > MAX_YAML_ALIASES:
            raise self._refuse(
                f"more than {MAX_YAML_ALIASES} YAML aliases (*name); write the values out", mark
            )
        node = super().compose_node(parent, index)
        size = self._sizes.get(id(node))
        if size is None:
            raise self._refuse("a YAML alias refers to a node that contains it", mark)
        self._added += size
        if self._added > MAX_YAML_ALIAS_NODES:
            raise self._refuse(
                f"YAML aliases would add more than {MAX_YAML_ALIAS_NODES:,} nodes once "
                "expanded; write the values out",
                mark,
            )
        return node

    def _size(self, node: Node) -> int:
        if isinstance(node, ScalarNode):
            return 1 + len(node.value) // 100
        children = (
            [n for pair in node.value for n in pair]
            if isinstance(node, MappingNode)
            else list(node.value)
        )
        return 1 + sum(self._sizes.get(id(child), 0) for child in children)


def parse_text(text: str, source: str = "<catalog>", fmt: str | None = None) -> Any:
    """Parse YAML or JSON text (JSON is YAML, but its errors read better as JSON)."""
    fmt = fmt or ("json" if source.endswith(".json") else "yaml")
    try:
        if fmt == "json":
            return json.loads(text)
        return yaml.load(text, Loader=_CatalogLoader)  # a SafeLoader
    except json.JSONDecodeError as exc:
        raise CatalogInvalid(
            source, [CatalogProblem("(file)", f"invalid JSON: {exc.msg}", exc.lineno)]
        ) from None
    except RecursionError:
        raise CatalogInvalid(
            source, [CatalogProblem("(file)", "nested too deeply to be a catalog")]
        ) from None
    except UnicodeEncodeError:  # a lone surrogate (libyaml reads UTF-8)
        raise CatalogInvalid(source, [CatalogProblem("(file)", "not Unicode text")]) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc)
        raise CatalogInvalid(
            source, [CatalogProblem("(file)", f"invalid YAML: {problem}", line)]
        ) from None


def read_file(path: str | Path) -> Any:
    p = Path(path)
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise CatalogInvalid(
            str(p), [CatalogProblem("(file)", f"cannot read: {exc.strerror}")]
        ) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise CatalogInvalid(str(p), [CatalogProblem("(file)", "not UTF-8 text")]) from None
    return parse_text(text, str(p))


# --- validation ----------------------------------------------------------------------------


_SAME_NAME = "once case, spacing and look-alike characters are ignored; give it its own name"


def _duplicate_names(
    session: Session, rows: list[Any], what: str, table: Any
) -> list[CatalogProblem]:
    """Rows whose display name equals another's once normalised (``name_key``): in the
    file, or a stored record the file does not change."""
    problems: list[CatalogProblem] = []
    seen: dict[str, int] = {}
    slugs: set[Any] = set()
    for i, row in enumerate(rows):
        if not isinstance(row, dict):
            continue
        slugs.add(row.get("slug") if isinstance(row.get("slug"), str) else None)
        name = row.get("name")
        key = name_key(name) if isinstance(name, str) else ""
        if not key:
            continue
        if key in seen:
            problems.append(
                CatalogProblem(
                    f"{what}[{i}].name",
                    f"the same name as {what}[{seen[key]}] "
                    f"('{clean_name(rows[seen[key]]['name'])}') {_SAME_NAME}",
                )
            )
        else:
            seen[key] = i
    if not seen:
        return problems
    single = what[:-1]
    for slug, name in session.exec(select(table.slug, table.name)):
        i = seen.get(name_key(name)) if slug not in slugs else None
        if i is not None:
            problems.append(
                CatalogProblem(
                    f"{what}[{i}].name",
                    f"the same name as the {single} '{slug}' ({clean_name(name)}) {_SAME_NAME}",
                )
            )
    return problems


def validate(data: Any, session: Session, source: str = "<catalog>") -> CatalogIn:
    """Check the whole catalog (structure, references, templates); raise with its problems
    (all counted, the first ``MAX_REPORTED_PROBLEMS`` listed)."""
    from content.templating import CompiledTemplate, TemplateInvalid, check_source

    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise CatalogInvalid(source, [CatalogProblem("(file)", "a catalog must be a mapping")])
    too_many = [
        CatalogProblem(
            key,
            f"{len(data[key]):,} rows; a catalog may have at most {cap:,} "
            "(split it into several files)",
        )
        for key, cap in MAX_ROWS.items()
        if isinstance(data.get(key), list) and len(data[key]) > cap
    ]
    if too_many:
        raise CatalogInvalid(source, too_many)
    problems = _Problems()
    catalog = _validate_rows(data, problems)

    raw_compounds = data.get("compounds") if isinstance(data.get("compounds"), list) else []
    raw_conditions = data.get("conditions") if isinstance(data.get("conditions"), list) else []
    raw_evidence = data.get("evidence") if isinstance(data.get("evidence"), list) else []

    def slugs_of(rows: list[Any], what: str) -> set[str]:
        seen: dict[str, int] = {}
        for i, row in enumerate(rows):
            slug = row.get("slug") if isinstance(row, dict) else None
            if isinstance(slug, str):
                if slug in seen:
                    problems.append(
                        CatalogProblem(
                            f"{what}[{i}].slug",
                            f"duplicate slug '{slug}' (also {what}[{seen[slug]}])",
                        )
                    )
                else:
                    seen[slug] = i
        return set(seen)

    compound_slugs = slugs_of(raw_compounds, "compounds")
    condition_slugs = slugs_of(raw_conditions, "conditions")
    problems.extend(_duplicate_names(session, raw_compounds, "compounds", Compound))
    problems.extend(_duplicate_names(session, raw_conditions, "conditions", Condition))
    # (Only text can be a reference; anything else is reported by the model's validation.)
    refs_c = {
        r.get("compound")
        for r in raw_evidence
        if isinstance(r, dict) and isinstance(r.get("compound"), str)
    } - compound_slugs
    refs_d = {
        r.get("condition")
        for r in raw_evidence
        if isinstance(r, dict) and isinstance(r.get("condition"), str)
    } - condition_slugs
    known_c = (
        set(
            session.exec(
                select(Compound.slug).where(
                    Compound.slug.in_([s for s in refs_c if isinstance(s, str)])
                )
            )
        )
        if refs_c
        else set()
    )
    known_d = (
        set(
            session.exec(
                select(Condition.slug).where(
                    Condition.slug.in_([s for s in refs_d if isinstance(s, str)])
                )
            )
        )
        if refs_d
        else set()
    )
    pairs: dict[tuple[Any, Any], int] = {}
    for i, row in enumerate(raw_evidence):
        if not isinstance(row, dict):
            continue
        c, d = row.get("compound"), row.get("condition")
        if not isinstance(c, str) or not isinstance(d, str):
            continue
        if c not in compound_slugs and c not in known_c:
            problems.append(CatalogProblem(f"evidence[{i}].compound", f"unknown compound '{c}'"))
        if d not in condition_slugs and d not in known_d:
            problems.append(CatalogProblem(f"evidence[{i}].condition", f"unknown condition '{d}'"))
        if (c, d) in pairs:
            problems.append(
                CatalogProblem(
                    f"evidence[{i}]", f"duplicate pair {c} x {d} (also evidence[{pairs[(c, d)]}])"
                )
            )
        else:
            pairs[(c, d)] = i

    raw_templates = data.get("templates") if isinstance(data.get("templates"), list) else []
    versions: dict[tuple[str, str], int] = {}
    for i, src in enumerate(raw_templates):
        path = f"templates[{i}]"
        structural = check_source(src, path)
        if structural:
            problems.extend(CatalogProblem(p.path, p.message, p.line) for p in structural)
            continue
        try:
            CompiledTemplate(src, path)
        except TemplateInvalid as exc:
            problems.extend(CatalogProblem(p.path, p.message, p.line) for p in exc.problems)
            continue
        key = (str(src["kind"]).upper(), str(src["version"]))
        if key in versions:
            problems.append(
                CatalogProblem(
                    f"{path}.version",
                    f"duplicate version '{key[1]}' (also templates[{versions[key]}])",
                )
            )
            continue
        versions[key] = i
        existing = session.exec(
            select(Template).where(Template.kind == key[0], Template.version == key[1])
        ).first()
        if existing is not None and existing.content_hash != content_hash(src):
            problems.append(
                CatalogProblem(
                    f"{path}.version",
                    f"version '{key[1]}' already exists with different content; "
                    "template versions are immutable, give the change a new version",
                )
            )

    if problems or catalog is None:
        raise CatalogInvalid(
            source, problems.kept or [CatalogProblem("(file)", "invalid catalog")], problems.total
        )
    return catalog


_ROW_ADAPTERS: dict[str, TypeAdapter[Any]] = {
    "compounds": TypeAdapter(list[CompoundIn]),
    "conditions": TypeAdapter(list[ConditionIn]),
    "evidence": TypeAdapter(list[EvidenceIn]),
}


def _validate_rows(data: dict[str, Any], problems: _Problems) -> CatalogIn | None:
    """The catalog's model; row lists are validated ``_CHUNK`` rows at a time, so that a
    file with a million problems costs their count, not a million messages."""
    lists = {k: data[k] for k in _ROW_ADAPTERS if isinstance(data.get(k), list)}
    catalog = None
    try:
        catalog = CatalogIn.model_validate({k: v for k, v in data.items() if k not in lists})
    except ValidationError as exc:
        problems.add_validation(exc)
    rows: dict[str, list[Any]] = {}
    for key, raw in lists.items():
        rows[key] = []
        for start in range(0, len(raw), _CHUNK):
            try:
                rows[key] += _ROW_ADAPTERS[key].validate_python(raw[start : start + _CHUNK])
            except ValidationError as exc:
                problems.add_validation(exc, key, start)
    if catalog is None or problems:
        return None
    return catalog.model_copy(update=rows)


# --- writing -------------------------------------------------------------------------------


@dataclass
class ImportReport:
    created: dict[str, int] = field(default_factory=dict)
    updated: dict[str, int] = field(default_factory=dict)
    unchanged: dict[str, int] = field(default_factory=dict)
    affected_reviews: int = 0  # reviews whose inputs changed

    def count(self, what: str, outcome: str) -> None:
        bucket = getattr(self, outcome)
        bucket[what] = bucket.get(what, 0) + 1

    def summary(self) -> str:
        kinds = ["publisher", "compounds", "conditions", "evidence", "templates"]
        parts = []
        for k in kinds:
            c, u, n = self.created.get(k, 0), self.updated.get(k, 0), self.unchanged.get(k, 0)
            if c or u or n:
                parts.append(f"{k}: {c} created, {u} updated, {n} unchanged")
        return "; ".join(parts) or "nothing to import"


def _citation_rows(items: list[CitationIn]) -> list[dict[str, Any]]:
    out = []
    for c in items:
        kind, value = c.kind_value
        out.append(citation_facts(kind, value, c.title))
    return out


@dataclass(slots=True)
class _Row:
    """One record of the file, ready to write: its values, facts hash and citations."""

    key: Any
    values: dict[str, Any]
    hash: str
    citations: list[dict[str, Any]] | None = None  # None: the record has no citations


def _write_rows(
    session: Session,
    model: Any,
    existing: dict[Any, Any],
    rows: list[_Row],
    what: str,
    report: ImportReport,
    owner: str | None = None,
) -> dict[Any, int]:
    """Insert new records in bulk, update changed ones, leave unchanged ones alone."""
    table = model.__table__
    now = utcnow()
    ids: dict[Any, int] = {}
    new: list[_Row] = []
    touched: list[tuple[int, _Row]] = []
    for row in rows:
        current = existing.get(row.key)
        if current is None:
            new.append(row)
            continue
        ids[row.key] = current.id
        if current.content_hash == row.hash and all(
            getattr(current, k) == v for k, v in row.values.items()
        ):
            report.count(what, "unchanged")
            continue
        for k, v in row.values.items():
            setattr(current, k, v)
        current.content_hash = row.hash
        current.revision += 1
        current.updated_at = now
        session.add(current)
        touched.append((current.id, row))
        report.count(what, "updated")
    if new:
        values = [
            dict(r.values, content_hash=r.hash, revision=1, created_at=now, updated_at=now)
            for r in new
        ]
        result = session.execute(
            insert(table).returning(table.c.id, sort_by_parameter_order=True), values
        )
        for r, (rid,) in zip(new, result.all(), strict=True):
            ids[r.key] = rid
            report.count(what, "created")
    session.flush()
    if owner is not None:
        col = Citation.compound_id if owner == "compound" else Citation.evidence_id
        stale = [rid for rid, _ in touched]
        for chunk in range(0, len(stale), 5000):
            session.execute(delete(Citation).where(col.in_(stale[chunk : chunk + 5000])))
        cites = [
            {
                "compound_id": rid if owner == "compound" else None,
                "evidence_id": rid if owner == "evidence" else None,
                "position": pos,
                "kind": c["kind"],
                "value": c["value"],
                "title": c["title"],
            }
            for rid, r in [*touched, *((ids[r.key], r) for r in new)]
            for pos, c in enumerate(r.citations or [])
        ]
        if cites:
            session.execute(insert(Citation.__table__), cites)
    return ids


def upsert(
    session: Session,
    catalog: CatalogIn,
    raw_templates: list[dict[str, Any]] | None = None,
    refresh: bool = True,
) -> ImportReport:
    """Write a validated catalog. With ``refresh`` (the default) every review's current
    fingerprint is recomputed when anything changed; callers that know which
    reviews are affected pass False and refresh those themselves."""
    report = ImportReport()

    if catalog.publisher is not None:
        p = catalog.publisher
        values = {
            "name": p.name,
            "advisor_name": p.medical_advisor.name,
            "advisor_credentials": p.medical_advisor.credentials,
            "cta": p.cta,
            "notice": p.notice,
        }
        current = session.exec(select(Publisher).order_by(Publisher.id)).first()
        row = _Row(1, values, content_hash(publisher_facts(SimpleNamespace(**values))))
        _write_rows(session, Publisher, {1: current} if current else {}, [row], "publisher", report)

    compound_ids: dict[str, int] = {}
    if catalog.compounds:
        existing = {
            c.slug: c
            for c in session.exec(
                select(Compound).where(Compound.slug.in_([c.slug for c in catalog.compounds]))
            )
        }
        rows = []
        for item in catalog.compounds:
            cites = _citation_rows(item.citations)
            values = item.model_dump(exclude={"citations"})
            facts = compound_facts(SimpleNamespace(**values), cites)
            rows.append(_Row(item.slug, values, content_hash(facts), cites))
        compound_ids = _write_rows(
            session, Compound, existing, rows, "compounds", report, owner="compound"
        )

    condition_ids: dict[str, int] = {}
    if catalog.conditions:
        existing = {
            c.slug: c
            for c in session.exec(
                select(Condition).where(Condition.slug.in_([c.slug for c in catalog.conditions]))
            )
        }
        rows = []
        for citem in catalog.conditions:
            values = citem.model_dump()
            facts = condition_facts(SimpleNamespace(**values))
            rows.append(_Row(citem.slug, values, content_hash(facts)))
        condition_ids = _write_rows(session, Condition, existing, rows, "conditions", report)

    if catalog.evidence:
        need_c = {e.compound for e in catalog.evidence} - set(compound_ids)
        need_d = {e.condition for e in catalog.evidence} - set(condition_ids)
        if need_c:
            compound_ids.update(
                (slug, cid)
                for slug, cid in session.exec(
                    select(Compound.slug, Compound.id).where(Compound.slug.in_(need_c))
                )
            )
        if need_d:
            condition_ids.update(
                (slug, did)
                for slug, did in session.exec(
                    select(Condition.slug, Condition.id).where(Condition.slug.in_(need_d))
                )
            )
        existing = {(e.compound_id, e.condition_id): e for e in session.exec(select(Evidence))}
        rows = []
        for eitem in catalog.evidence:
            cid, did = compound_ids[eitem.compound], condition_ids[eitem.condition]
            cites = _citation_rows(eitem.citations)
            values = {
                "compound_id": cid,
                "condition_id": did,
                "research": Research(eitem.research),
                "notes": eitem.notes,
            }
            facts = evidence_facts(SimpleNamespace(**values), cites)
            rows.append(_Row((cid, did), values, content_hash(facts), cites))
        _write_rows(session, Evidence, existing, rows, "evidence", report, owner="evidence")

    for src in raw_templates or []:
        kind, version = ReviewKind(str(src["kind"]).upper()), str(src["version"])
        existing_t = session.exec(
            select(Template).where(Template.kind == kind, Template.version == version)
        ).first()
        if existing_t is not None:
            report.count("templates", "unchanged")
            continue
        # The newest imported version becomes the active one for its kind.
        for old in session.exec(
            select(Template).where(Template.kind == kind, Template.active.is_(True))
        ):
            old.active = False
            session.add(old)
        session.add(
            Template(
                kind=kind, version=version, source=src, content_hash=content_hash(src), active=True
            )
        )
        report.count("templates", "created")
    session.flush()
    if refresh and (
        report.updated or report.created.get("templates") or report.created.get("publisher")
    ):
        # Some reviews' inputs changed: note what their facts make now (see isStale).
        from db.reviews import refresh_fingerprints

        report.affected_reviews = refresh_fingerprints(session)
    return report


def import_data(session: Session, data: Any, source: str = "<catalog>") -> ImportReport:
    """Validate then write; the caller's transaction makes it all-or-nothing."""
    catalog = validate(data, session, source)
    raw_templates = data.get("templates") if isinstance(data, dict) else None
    return upsert(session, catalog, raw_templates or [])


def import_file(session: Session, path: str | Path) -> ImportReport:
    return import_data(session, read_file(path), str(path))


# --- export --------------------------------------------------------------------------------


def _cites_out(rows: list[Any]) -> list[dict[str, Any]]:
    result = []
    for c in citations_of(rows):
        item = {c["kind"].lower(): c["value"]}
        if c["title"]:
            item["title"] = c["title"]
        result.append(item)
    return result


def publisher_record(pub: Any) -> dict[str, Any]:
    """A publisher row as it appears in a catalog file."""
    adv: dict[str, Any] = {"name": pub.advisor_name}
    if pub.advisor_credentials:
        adv["credentials"] = pub.advisor_credentials
    p: dict[str, Any] = {"name": pub.name, "medical_advisor": adv}
    if pub.cta:
        p["cta"] = pub.cta
    if pub.notice:
        p["notice"] = pub.notice
    return p


def compound_record(c: Any, citations: list[Any]) -> dict[str, Any]:
    """A compound row (and its citation rows) as it appears in a catalog file."""
    row: dict[str, Any] = {
        "slug": c.slug,
        "name": c.name,
        "aliases": list(c.aliases),
        "drug_class": c.drug_class,
        "safety_profile": list(c.safety_profile),
        "regulatory_status": c.regulatory_status,
        "evidence_level": c.evidence_level,
        "mechanisms": list(c.mechanisms),
    }
    for k in ("rxnorm", "mesh"):
        if getattr(c, k):
            row[k] = getattr(c, k)
    if citations:
        row["citations"] = _cites_out(citations)
    return row


def condition_record(d: Any) -> dict[str, Any]:
    drow: dict[str, Any] = {"slug": d.slug, "name": d.name}
    if d.full_name:
        drow["full_name"] = d.full_name
    drow["specialist"] = d.specialist
    drow["aliases"] = list(d.aliases)
    for k in ("icd10", "mesh"):
        if getattr(d, k):
            drow[k] = getattr(d, k)
    return drow


def evidence_record(
    e: Any, compound_slug: str, condition_slug: str, citations: list[Any]
) -> dict[str, Any]:
    erow: dict[str, Any] = {
        "compound": compound_slug,
        "condition": condition_slug,
        "research": str(e.research).lower(),
    }
    if e.notes:
        erow["notes"] = e.notes
    if citations:
        erow["citations"] = _cites_out(citations)
    return erow


def citations_of_owner(session: Session, owner: str, owner_id: int) -> list[Citation]:
    col = Citation.compound_id if owner == "compound" else Citation.evidence_id
    return list(session.exec(select(Citation).where(col == owner_id)))


def export_data(session: Session) -> dict[str, Any]:
    out: dict[str, Any] = {}
    pub = session.exec(select(Publisher).order_by(Publisher.id)).first()
    if pub is not None:
        out["publisher"] = publisher_record(pub)

    all_cites = list(session.exec(select(Citation)))
    by_compound: dict[int, list[Citation]] = {}
    by_evidence: dict[int, list[Citation]] = {}
    for c in all_cites:
        if c.compound_id is not None:
            by_compound.setdefault(c.compound_id, []).append(c)
        elif c.evidence_id is not None:
            by_evidence.setdefault(c.evidence_id, []).append(c)

    compounds = list(session.exec(select(Compound).order_by(Compound.slug)))
    out["compounds"] = [compound_record(c, by_compound.get(c.id or 0, [])) for c in compounds]
    conditions = list(session.exec(select(Condition).order_by(Condition.slug)))
    out["conditions"] = [condition_record(d) for d in conditions]

    slug_c = {c.id: c.slug for c in compounds}
    slug_d = {d.id: d.slug for d in conditions}
    ev = list(session.exec(select(Evidence)))
    ev.sort(key=lambda e: (slug_c[e.compound_id], slug_d[e.condition_id]))
    out["evidence"] = [
        evidence_record(
            e, slug_c[e.compound_id], slug_d[e.condition_id], by_evidence.get(e.id or 0, [])
        )
        for e in ev
    ]

    templates = list(session.exec(select(Template).order_by(Template.id)))
    # Older versions first, so importing the export leaves the same version active.
    templates.sort(key=lambda t: (t.active, t.id))
    out["templates"] = [t.source for t in templates]
    return out


def dump(data: dict[str, Any], path: str | Path) -> None:
    p = Path(path)
    if p.suffix == ".json":
        text = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    else:
        text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)
    tmp = p.with_name(p.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(p)  # never leave a half-written export behind

"""Validating a catalog as a whole, before anything is written: one named check each.

Every check adds its problems (with their paths) to one list; the file is refused
when any is found, with every problem counted and the first ones listed, so one bad
row rejects the whole file and leaves the database exactly as it was.
"""

from __future__ import annotations

from typing import Any

from pydantic import TypeAdapter, ValidationError
from sqlmodel import Session

from catalog.model import TRANSLATABLE, CatalogIn, CompoundIn, ConditionIn, EvidenceIn
from catalog.problems import CatalogInvalid, CatalogProblem, Problems
from config import get_settings, locale_tag
from content.facts import content_hash
from content.template_checks import TemplateInvalid, TemplateProblem
from content.templating import CompiledTemplate, check_source
from content.text_safety import clean_name, name_key
from db import catalog_sql
from db.models import Compound, Condition

# Rows per section (README: Limits and security): the scale benchmark imports 200,000
# evidence rows; past these, split the file.
MAX_ROWS = {"compounds": 10_000, "conditions": 10_000, "evidence": 500_000, "templates": 1_000}
_CHUNK = 1_000  # rows validated at a time, so that problems past the cap are only counted
_ROW_ADAPTERS: dict[str, TypeAdapter[Any]] = {
    "compounds": TypeAdapter(list[CompoundIn]),
    "conditions": TypeAdapter(list[ConditionIn]),
    "evidence": TypeAdapter(list[EvidenceIn]),
}
_SAME_NAME = "once case, spacing and look-alike characters are ignored; give it its own name"


def validate(data: Any, session: Session, source: str = "<catalog>") -> CatalogIn:
    """Check the whole catalog (structure, references, names, templates); raise with its
    problems (all counted, the first ``MAX_REPORTED_PROBLEMS`` listed)."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise CatalogInvalid(source, [CatalogProblem("(file)", "a catalog must be a mapping")])
    check_row_counts(data, source)
    problems = Problems()
    catalog = check_rows(data, problems)
    compounds, conditions = _rows(data, "compounds"), _rows(data, "conditions")
    compound_slugs = check_unique_slugs(compounds, "compounds", problems)
    condition_slugs = check_unique_slugs(conditions, "conditions", problems)
    check_unique_names(session, compounds, "compounds", Compound, problems)
    check_unique_names(session, conditions, "conditions", Condition, problems)
    check_evidence_references(
        session, _rows(data, "evidence"), compound_slugs, condition_slugs, problems
    )
    locales = get_settings().locales
    check_translation_locales(data, locales, problems)
    check_templates(session, _rows(data, "templates"), problems, locales)
    if problems or catalog is None:
        raise CatalogInvalid(
            source, problems.kept or [CatalogProblem("(file)", "invalid catalog")], problems.total
        )
    return catalog


def _rows(data: dict[str, Any], key: str) -> list[Any]:
    return data[key] if isinstance(data.get(key), list) else []


def check_row_counts(data: dict[str, Any], source: str) -> None:
    """Refuse at once a file with more rows in a section than a catalog may have."""
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


def check_rows(data: dict[str, Any], problems: Problems) -> CatalogIn | None:
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


def check_unique_slugs(rows: list[Any], what: str, problems: Problems) -> set[str]:
    """No slug twice in a section; returns the section's slugs."""
    seen: dict[str, int] = {}
    for i, row in enumerate(rows):
        slug = row.get("slug") if isinstance(row, dict) else None
        if not isinstance(slug, str):
            continue
        if slug in seen:
            problems.append(
                CatalogProblem(
                    f"{what}[{i}].slug", f"duplicate slug '{slug}' (also {what}[{seen[slug]}])"
                )
            )
        else:
            seen[slug] = i
    return set(seen)


def check_unique_names(
    session: Session, rows: list[Any], what: str, model: Any, problems: Problems
) -> None:
    """No display name equal to another's once normalised (``name_key``): in the file, or
    a stored record the file does not change."""
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
        return
    single = what[:-1]
    for slug, name in catalog_sql.names(session, model):
        match = seen.get(name_key(name)) if slug not in slugs else None
        if match is not None:
            problems.append(
                CatalogProblem(
                    f"{what}[{match}].name",
                    f"the same name as the {single} '{slug}' ({clean_name(name)}) {_SAME_NAME}",
                )
            )


def check_evidence_references(
    session: Session,
    rows: list[Any],
    compound_slugs: set[str],
    condition_slugs: set[str],
    problems: Problems,
) -> None:
    """Evidence names compounds and conditions of the file or the database, each pair once."""
    # (Only text can be a reference; anything else is reported by the model's validation.)
    texts = [r for r in rows if isinstance(r, dict)]
    wanted_c = {r["compound"] for r in texts if isinstance(r.get("compound"), str)}
    wanted_d = {r["condition"] for r in texts if isinstance(r.get("condition"), str)}
    known_c = compound_slugs | catalog_sql.existing_slugs(
        session, Compound, wanted_c - compound_slugs
    )
    known_d = condition_slugs | catalog_sql.existing_slugs(
        session, Condition, wanted_d - condition_slugs
    )
    pairs: dict[tuple[Any, Any], int] = {}
    for i, row in enumerate(rows):
        if not isinstance(row, dict):
            continue
        c, d = row.get("compound"), row.get("condition")
        if not isinstance(c, str) or not isinstance(d, str):
            continue
        if c not in known_c:
            problems.append(CatalogProblem(f"evidence[{i}].compound", f"unknown compound '{c}'"))
        if d not in known_d:
            problems.append(CatalogProblem(f"evidence[{i}].condition", f"unknown condition '{d}'"))
        if (c, d) in pairs:
            problems.append(
                CatalogProblem(
                    f"evidence[{i}]", f"duplicate pair {c} x {d} (also evidence[{pairs[(c, d)]}])"
                )
            )
        else:
            pairs[(c, d)] = i


def locale_problem(tag: Any, locales: list[str], translation: bool = True) -> str | None:
    """Why ``tag`` cannot name a locale of this catalog (None: it can)."""
    try:
        canonical = locale_tag(tag)
    except ValueError as exc:
        return str(exc)
    if canonical != tag:
        return f"write the locale tag '{tag}' as '{canonical}'"
    if tag not in locales:
        return f"unknown locale '{tag}' (COMPENDIUM_LOCALES: {', '.join(locales)})"
    if translation and tag == locales[0]:
        return (
            f"'{tag}' is the default locale: its values are the record's own fields, "
            "not a translation"
        )
    return None


def check_translation_locales(data: dict[str, Any], locales: list[str], problems: Problems) -> None:
    """Every ``translations`` key is a configured locale other than the default one (the
    fields inside are checked by the model: an unknown one is an unknown field)."""
    owners: list[tuple[str, Any]] = []
    if isinstance(data.get("publisher"), dict):
        owners.append(("publisher", data["publisher"]))
    for section in TRANSLATABLE:
        if section != "publisher":
            owners += [(f"{section}[{i}]", row) for i, row in enumerate(_rows(data, section))]
    for path, row in owners:
        translations = row.get("translations") if isinstance(row, dict) else None
        if not isinstance(translations, dict):
            continue  # absent, or refused by the model
        for tag in translations:
            problem = locale_problem(tag, locales)
            if problem:
                problems.append(CatalogProblem(f"{path}.translations.{tag}", problem))


def template_locale(src: dict[str, Any], default: str) -> str:
    """The locale of a template source (one without ``locale`` is the default locale's)."""
    return str(src.get("locale") or default)


def check_templates(
    session: Session, sources: list[Any], problems: Problems, locales: list[str]
) -> None:
    """Each template compiles and renders every branch; versions are new or unchanged
    (per kind and locale); a template's ``locale`` is a configured one."""
    versions: dict[tuple[str, str, str], int] = {}
    for i, src in enumerate(sources):
        path = f"templates[{i}]"
        structural = check_source(src, path)
        if isinstance(src, dict) and "locale" in src:
            problem = locale_problem(src["locale"], locales, translation=False)
            if problem:
                structural.append(TemplateProblem(f"{path}.locale", problem))
        if structural:
            problems.extend(CatalogProblem(p.path, p.message, p.line) for p in structural)
            continue
        try:
            CompiledTemplate(src, path)
        except TemplateInvalid as exc:
            problems.extend(CatalogProblem(p.path, p.message, p.line) for p in exc.problems)
            continue
        key = (str(src["kind"]).upper(), template_locale(src, locales[0]), str(src["version"]))
        if key in versions:
            problems.append(
                CatalogProblem(
                    f"{path}.version",
                    f"duplicate version '{key[2]}' (also templates[{versions[key]}])",
                )
            )
            continue
        versions[key] = i
        existing = catalog_sql.template(session, *key)
        if existing is not None and existing.content_hash != content_hash(src):
            problems.append(
                CatalogProblem(
                    f"{path}.version",
                    f"version '{key[2]}' already exists with different content; "
                    "template versions are immutable, give the change a new version",
                )
            )

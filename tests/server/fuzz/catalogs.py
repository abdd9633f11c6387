"""Catalog texts for the import fuzzing: random, truncated, mangled, deeply nested,
YAML alias bombs and tricks; and what an import must leave behind."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

import yaml
from hypothesis import strategies as st
from sqlalchemy import Engine, text

from catalog.exporting import export_data
from db.engine import session_scope
from tests.conftest import TEMPLATES
from tests.server.fuzz.settings import (
    COMPOUNDS,
    CONDITIONS,
    DEMO_DATA,
    DEMO_JSON,
    DEMO_TEXT,
    STEER_ALIAS_BOMB_KEYS,
    STEER_DEEP_CATALOG,
    STEER_UNHASHABLE_REFS,
)
from tests.server.fuzz.strategies import characters, text_values

SMALL_CATALOG: dict[str, Any] = {
    "publisher": DEMO_DATA["publisher"],
    "compounds": DEMO_DATA["compounds"][:2],
    "conditions": DEMO_DATA["conditions"][:2],
    "evidence": [
        e
        for e in DEMO_DATA["evidence"]
        if e["compound"] in COMPOUNDS[:2] and e["condition"] in CONDITIONS[:2]
    ],
}
TEMPLATE_DATA: dict[str, Any] = yaml.safe_load(TEMPLATES.read_text(encoding="utf-8"))
WEIRD = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    text_values(),
    st.just("x" * 300_000),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=3),
    st.integers(1, 150).map(lambda n: json.loads("[" * n + "]" * n)),
    st.sampled_from(["2026-01-01", "yes", "no", "~", "null", "0x1F", "1e400", ".nan", "NCT123"]),
)


def _paths(node: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield path
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _paths(v, (*path, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _paths(v, (*path, i))


@st.composite
def mangled_catalogs(draw: Any) -> tuple[str, str]:
    """A small valid catalog with one to three structural mutations."""
    data = copy.deepcopy(SMALL_CATALOG)
    if draw(st.booleans()):
        data["templates"] = copy.deepcopy(TEMPLATE_DATA["templates"])
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from([p for p in _paths(data) if p]))
        parent = data
        for part in path[:-1]:
            parent = parent[part]
        last = path[-1]
        op = draw(st.sampled_from(["replace", "replace", "delete", "extra", "duplicate"]))
        if op == "replace":
            value = draw(WEIRD)
            reference = path[0] == "evidence" and last in ("compound", "condition")
            if STEER_UNHASHABLE_REFS and reference and isinstance(value, (list, dict)):
                value = str(value)
            parent[last] = value
        elif op == "delete":
            del parent[last]
        elif op == "extra" and isinstance(parent[last], dict):
            parent[last][draw(st.text(min_size=1, max_size=10))] = draw(WEIRD)
        elif op == "duplicate" and isinstance(parent, list):
            parent.append(copy.deepcopy(parent[last]))
    if draw(st.booleans()):
        return "json", json.dumps(data, ensure_ascii=draw(st.booleans()))
    return "yaml", yaml.safe_dump(data, allow_unicode=draw(st.booleans()), sort_keys=False)


def alias_bomb(levels: int, width: int, where: str) -> str:
    """A YAML "billion laughs": ``width ** levels`` strings from a few hundred bytes."""
    anchors = ["  - &l0 [" + ", ".join(["lol"] * width) + "]"]
    for i in range(1, levels):
        anchors.append(f"  - &l{i} [" + ", ".join([f"*l{i - 1}"] * width) + "]")
    bomb = f"*l{levels - 1}"
    places = {
        "compound": f"compounds:\n  - {{slug: x, name: {bomb}, aliases: {bomb}}}\n",
        "evidence": f"evidence:\n  - {{compound: x, condition: y, research: {bomb}, notes: {bomb}}}\n",
        "template": f"templates:\n  - {{version: {bomb}, sections: {bomb}, title: {bomb}}}\n",
        "publisher": f"publisher: {bomb}\n",
        "template-kind": f"templates:\n  - {{kind: {bomb}}}\n",
        "section-key": f"templates:\n  - {{sections: [{{key: {bomb}}}]}}\n",
    }
    return "x-anchors:\n" + "\n".join(anchors) + "\n" + places[where]


BOMB_PLACES = ["compound", "evidence", "template", "publisher"]
if not STEER_ALIAS_BOMB_KEYS:
    BOMB_PLACES += ["template-kind", "section-key"]
YAML_TRICKS = [
    "compounds: []\ncompounds: []\n",
    "!!python/object/apply:os.system ['true']\n",
    "compounds: !!set {a, b}\n",
    "compounds:\n- !!binary aGVsbG8=\n",
    "? [a, b]\n: c\n",
    "publisher: &p {name: x, medical_advisor: *p}\n",
    "%YAML 1.1\n---\ncompounds: []\n...\n---\nconditions: []\n",
    "compounds: [{<<: {slug: merged-key}}]\n",
    "\ufeffcompounds: []\n",
    "compounds: [{slug: 0o17, name: 1_000, drug_class: 2001-01-01}]\n",
    "\t\tcompounds: [\n",
    "evidence: [{compound: ketamine, condition: als, research: specific, notes: !!float 1}]\n",
]


def nested_catalog(fmt: str, where: str, depth: int) -> str:
    nest = "[" * depth + "]" * depth
    if fmt == "json":
        return {
            "top": nest,
            "compounds": f'{{"compounds": {nest}}}',
            "templates": f'{{"templates": [{{"sections": {nest}}}]}}',
            "notes": f'{{"evidence": [{{"notes": {nest}}}]}}',
        }[where]
    return {
        "top": nest,
        "compounds": f"compounds: {nest}",
        "templates": f"templates:\n- sections: {nest}",
        "notes": f"evidence:\n- notes: {nest}",
    }[where]


CATALOG_KINDS = ["random", "bytes", "yaml-prefix", "json-prefix", "mangled", "mangled"]
CATALOG_KINDS += ["nested", "bomb", "tricks"]


@st.composite
def catalog_texts(draw: Any) -> tuple[str, str]:
    kind = draw(st.sampled_from(CATALOG_KINDS))
    fmt = draw(st.sampled_from(["yaml", "json"]))
    if kind == "random":
        return fmt, draw(st.text(characters(), max_size=400))
    if kind == "bytes":
        return fmt, draw(st.binary(max_size=400)).decode("utf-8", "replace")
    if kind == "yaml-prefix":
        return "yaml", DEMO_TEXT[: draw(st.integers(0, len(DEMO_TEXT) - 1))]
    if kind == "json-prefix":
        return "json", DEMO_JSON[: draw(st.integers(0, len(DEMO_JSON) - 1))]
    if kind == "mangled":
        return draw(mangled_catalogs())  # type: ignore[no-any-return]
    if kind == "nested":
        depth = draw(st.integers(1, 150 if STEER_DEEP_CATALOG else 100_000))
        where = draw(st.sampled_from(["top", "compounds", "templates", "notes"]))
        return fmt, nested_catalog(fmt, where, depth)
    if kind == "bomb":
        levels, width = draw(st.integers(1, 6) | st.just(6)), draw(st.integers(1, 10) | st.just(10))
        return "yaml", alias_bomb(levels, width, draw(st.sampled_from(BOMB_PLACES)))
    return "yaml", draw(st.sampled_from(YAML_TRICKS))


def snapshot(engine: Engine) -> Any:
    """The whole catalog and the counts of everything an import could touch."""
    with session_scope(engine) as session:
        exported = export_data(session)
        counts = {
            table: session.execute(text(f"SELECT COUNT(*) FROM {table}")).scalar()
            for table in ("review", "review_section", "review_revision", "citation", "audit_log")
        }
    return exported, counts


def bounded(problems_size: int, content: str) -> bool:
    """The problems never dwarf the input (an alias bomb must not be expanded)."""
    return problems_size < 100_000 + 10 * len(content)

"""Catalog files: every error listed, nothing half-imported, idempotent, round-trips."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from sqlalchemy import Engine, func, select

from catalog.exporting import dump, export_data
from catalog.importing import import_data, import_file
from catalog.problems import CatalogInvalid
from db.engine import make_engine, session_scope
from db.migrate import upgrade
from db.models import Citation, Compound, Evidence
from tests.conftest import DEMO, FIXTURES, TEMPLATES, load

SEED = yaml.safe_load((FIXTURES / "seed-pages.yaml").read_text())


def snapshot(engine: Engine) -> dict:
    with session_scope(engine) as session:
        return export_data(session)


def rows(engine: Engine, model: type) -> list:
    with session_scope(engine) as session:
        return [tuple(r) for r in session.execute(select(model.__table__)).all()]


def test_bad_file_lists_every_error_and_changes_nothing(engine: Engine, tmp_path: Path) -> None:
    load(engine, TEMPLATES, FIXTURES / "seed-pages.yaml")
    before = snapshot(engine), rows(engine, Compound), rows(engine, Evidence)
    bad = copy.deepcopy(SEED)
    bad["compounds"][0]["name"] = "Ketamine renamed"  # a valid change that must not land
    bad["compounds"].append(dict(bad["compounds"][0], slug="Bad Slug"))
    bad["compounds"].append(dict(bad["compounds"][0], slug="ok-slug", safety_profile=[]))
    bad["conditions"][0]["specialist"] = ""
    bad["evidence"].append({"compound": "ketamine", "condition": "nope", "research": "maybe"})
    bad["evidence"].append(
        {
            "compound": "ketamine",
            "condition": "als",
            "research": "limited",
            "citations": [
                {"pmid": "12ab"},
                {"doi": "11.1/x"},
                {"nct": "NCT123"},
                {"url": "javascript:alert(1)"},
                {"pmid": "1", "doi": "10.1000/x"},
            ],
        }
    )
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(bad))
    with session_scope(engine) as session, pytest.raises(CatalogInvalid) as info:
        import_file(session, path)
    found = {p.path for p in info.value.problems}
    assert {
        "compounds[1].slug",
        "compounds[2].safety_profile",
        "conditions[0].specialist",
        "evidence[2].research",
        "evidence[2].condition",
        "evidence[3]",
        "evidence[3].citations[0].pmid",
        "evidence[3].citations[1].doi",
        "evidence[3].citations[2].nct",
        "evidence[3].citations[3]",
        "evidence[3].citations[4]",
    } <= found
    message = str(info.value)
    assert str(path) in message and "nothing was imported" in message
    assert "evidence[2].condition: unknown condition 'nope'" in message
    assert (snapshot(engine), rows(engine, Compound), rows(engine, Evidence)) == before


def test_import_is_idempotent(engine: Engine) -> None:
    load(engine, TEMPLATES, DEMO)
    first = rows(engine, Compound), rows(engine, Evidence), rows(engine, Citation)
    with session_scope(engine) as session:
        report = import_file(session, DEMO)
    assert not report.created and not report.updated
    assert report.unchanged["compounds"] >= 25 and report.unchanged["evidence"] >= 300
    assert (rows(engine, Compound), rows(engine, Evidence), rows(engine, Citation)) == first


def test_upsert_updates_by_slug_and_bumps_revision(engine: Engine) -> None:
    load(engine, TEMPLATES, FIXTURES / "seed-pages.yaml")
    changed = copy.deepcopy(SEED)
    changed["compounds"][0]["evidence_level"] = "Changed"
    with session_scope(engine) as session:
        report = import_data(session, {"compounds": changed["compounds"]})
    assert report.updated == {"compounds": 1}
    with session_scope(engine) as session:
        k = session.execute(select(Compound).where(Compound.slug == "ketamine")).scalar_one()
        assert (k.evidence_level, k.revision) == ("Changed", 2)
        assert session.execute(select(func.count()).select_from(Compound)).scalar() == 1


def test_export_then_import_round_trips(
    engine: Engine, tmp_path: Path, new_db: Callable[[], str]
) -> None:
    load(engine, TEMPLATES, DEMO)
    with session_scope(engine) as session:
        import_data(
            session,
            {
                "evidence": [
                    {
                        "compound": "ketamine",
                        "condition": "als",
                        "research": "limited",
                        "notes": "n",
                        "citations": [{"url": "https://example.org/a", "title": "A"}],
                    }
                ]
            },
        )
    exported = snapshot(engine)
    for suffix in ("yaml", "json"):
        path = tmp_path / f"export.{suffix}"
        dump(exported, path)
        url = new_db()
        upgrade(url)
        fresh = make_engine(url)
        load(fresh, path)
        assert snapshot(fresh) == exported
        fresh.dispose()


def test_json_errors_name_the_line(engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text(json.dumps({"compounds": []})[:-3])
    with session_scope(engine) as session, pytest.raises(CatalogInvalid) as info:
        import_file(session, path)
    assert "invalid JSON" in str(info.value)


def test_truncated_yaml_rejected(engine: Engine, tmp_path: Path) -> None:
    text = DEMO.read_text()
    path = tmp_path / "cut.yaml"
    path.write_text(text[: len(text) // 2] + '\n  - {compound: "unterminated')
    with session_scope(engine) as session, pytest.raises(CatalogInvalid) as info:
        import_file(session, path)
    assert info.value.problems[0].line is not None
    assert rows(engine, Compound) == []


def test_template_version_is_immutable(engine: Engine) -> None:
    load(engine, TEMPLATES)
    src = yaml.safe_load(TEMPLATES.read_text())["templates"][0]
    src["title"] = "Changed {{ compound.name }}"
    with session_scope(engine) as session, pytest.raises(CatalogInvalid) as info:
        import_data(session, {"templates": [src]})
    assert "template versions are immutable" in str(info.value)


def test_bad_template_rejected_with_line(engine: Engine) -> None:
    src = yaml.safe_load(TEMPLATES.read_text())["templates"][0]
    src["version"] = "next"
    src["sections"][1]["body"] = "fine\n{{ compound.nope }}"
    with session_scope(engine) as session, pytest.raises(CatalogInvalid) as info:
        import_data(session, {"templates": [src]})
    assert "templates[0].sections[1].body (line 2): unknown variable 'compound.nope'" in str(
        info.value
    )


def test_demo_catalog_shape(engine: Engine) -> None:
    data = yaml.safe_load(DEMO.read_text())
    assert len(data["compounds"]) >= 25 and len(data["conditions"]) >= 12
    assert len(data["evidence"]) >= 300
    assert (
        "fictional" in data["publisher"]["name"]
        and "fictional" in data["publisher"]["medical_advisor"]["name"]
    )
    assert "not medically reviewed" in data["publisher"]["notice"]

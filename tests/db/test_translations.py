"""The catalog format with translations (README "Locales"): validated
against the configured locales (the suite runs with ``en,es``), stored with the facts,
exported back as they came, and templates per locale."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select

from catalog.exporting import dump, export_data
from catalog.importing import import_data, without_other_locales
from catalog.loading import read_file
from catalog.problems import CatalogInvalid
from db.engine import make_engine, session_scope
from db.migrate import upgrade
from db.models import Compound, Review, Template
from db.reviews import active_template
from editorial.generation import generate
from tests.conftest import DEMO, FIXTURES, TEMPLATES, load

SEED = read_file(FIXTURES / "seed-pages.yaml")
SPANISH_TEMPLATE = next(t for t in read_file(DEMO)["templates"] if t.get("locale") == "es")


def with_spanish() -> dict[str, Any]:
    data = copy.deepcopy(SEED)
    data["publisher"]["translations"] = {
        "es": {"cta": "Hable con su médico.", "advisor_credentials": "Médica"}
    }
    data["compounds"][0]["translations"] = {
        "es": {"name": "Ketamina", "safety_profile": ["Disociación"], "aliases": []}
    }
    data["conditions"][0]["translations"] = {"es": {"name": "ELA", "specialist": "neurólogo"}}
    data["evidence"][0]["translations"] = {"es": {"notes": "Notas en español."}}
    return data


def snapshot(engine: Engine) -> dict[str, Any]:
    with session_scope(engine) as session:
        return export_data(session)


def problems(engine: Engine, data: Any) -> dict[str, str]:
    with session_scope(engine) as session, pytest.raises(CatalogInvalid) as info:
        import_data(session, data)
    return {p.path: p.message for p in info.value.problems}


def test_translations_round_trip(engine: Engine, tmp_path: Path, new_db: Callable[[], str]) -> None:
    load(engine, TEMPLATES)
    data = with_spanish()
    data["templates"] = [SPANISH_TEMPLATE]
    with session_scope(engine) as session:
        import_data(session, data)
    exported = snapshot(engine)
    ketamine = next(c for c in exported["compounds"] if c["slug"] == data["compounds"][0]["slug"])
    assert ketamine["translations"] == data["compounds"][0]["translations"]
    assert exported["publisher"]["translations"] == data["publisher"]["translations"]
    assert exported["conditions"][0]["translations"] == data["conditions"][0]["translations"]
    assert exported["evidence"][0]["translations"] == data["evidence"][0]["translations"]
    assert [t.get("locale") for t in exported["templates"]] == [None, "es"]
    for suffix in ("yaml", "json"):
        path = tmp_path / f"export.{suffix}"
        dump(exported, path)
        url = new_db()
        upgrade(url)
        fresh = make_engine(url)
        load(fresh, path)
        assert snapshot(fresh) == exported
        fresh.dispose()
    # Importing the export again changes nothing.
    with session_scope(engine) as session:
        report = import_data(session, exported)
    assert not report.created and not report.updated


def test_a_changed_translation_is_a_change_of_the_record(engine: Engine) -> None:
    load(engine, TEMPLATES)
    data = with_spanish()
    with session_scope(engine) as session:
        import_data(session, data)
    slug = data["compounds"][0]["slug"]
    with session_scope(engine) as session:
        before = session.execute(select(Compound).where(Compound.slug == slug)).scalar_one()
        before_hash, before_rev = before.content_hash, before.revision
    data["compounds"][0]["translations"]["es"]["name"] = "Ketamina (IV)"
    with session_scope(engine) as session:
        report = import_data(session, data)
        after = session.execute(select(Compound).where(Compound.slug == slug)).scalar_one()
        assert report.updated == {"compounds": 1}
        assert after.translations["es"]["name"] == "Ketamina (IV)"
        assert (after.revision, after.content_hash != before_hash) == (before_rev + 1, True)


def test_records_without_translations_hash_as_before(seed_engine: Engine) -> None:
    """No translations: the facts hash exactly as they did before locales (no page of an
    existing database turns stale on upgrade)."""
    data = copy.deepcopy(SEED)
    data["compounds"][0]["translations"] = {}
    with session_scope(seed_engine) as session:
        report = import_data(session, data)
        stored = session.execute(select(Compound)).scalars().first()
        assert stored is not None and stored.translations == {}
    assert not report.updated


def test_bad_locales_and_fields_are_problems_with_paths(engine: Engine) -> None:
    load(engine, TEMPLATES)
    data = with_spanish()
    data["compounds"][0]["translations"].update(
        {"de": {"name": "Ketamin"}, "es_MX": {"name": "x"}, "ES": {"name": "y"}}
    )
    data["compounds"][0]["translations"]["es"]["dosage"] = "no such field"
    data["conditions"][0]["translations"]["en"] = {"name": "ALS"}
    data["evidence"][0]["translations"]["es"]["research"] = "specific"
    data["publisher"]["translations"]["fr"] = {"cta": "x"}
    data["compounds"][0]["translations"]["es"]["safety_profile"] = []
    data["templates"] = [
        dict(SPANISH_TEMPLATE, locale="de"),
        dict(SPANISH_TEMPLATE, locale="es_ES", version="2"),
    ]
    found = problems(engine, data)
    assert found == {
        "compounds[0].translations.es.dosage": "unknown field",
        "compounds[0].translations.es.safety_profile": "List should have at least 1 item "
        "after validation, not 0",
        "evidence[0].translations.es.research": "unknown field",
        "compounds[0].translations.de": "unknown locale 'de' (COMPENDIUM_LOCALES: en, es)",
        "compounds[0].translations.es_MX": "'es_MX' is not a BCP 47 language tag "
        "(e.g. 'en', 'es', 'es-MX', 'zh-Hant-TW')",
        "compounds[0].translations.ES": "write the locale tag 'ES' as 'es'",
        "conditions[0].translations.en": "'en' is the default locale: its values are the "
        "record's own fields, not a translation",
        "publisher.translations.fr": "unknown locale 'fr' (COMPENDIUM_LOCALES: en, es)",
        "templates[0].locale": "unknown locale 'de' (COMPENDIUM_LOCALES: en, es)",
        "templates[1].locale": "'es_ES' is not a BCP 47 language tag "
        "(e.g. 'en', 'es', 'es-MX', 'zh-Hant-TW')",
    }
    assert snapshot(engine)["compounds"] == []  # nothing was written


def test_templates_per_locale(seed_engine: Engine) -> None:
    """A Spanish template may share an English version number; it is stored beside the
    English one, which stays the active template generation uses."""
    english = next(iter(read_file(TEMPLATES)["templates"]))
    spanish = dict(SPANISH_TEMPLATE, version=english["version"])
    with session_scope(seed_engine) as session:
        report = import_data(session, {"templates": [spanish]})
        assert report.created == {"templates": 1}
        rows = session.execute(select(Template).order_by(Template.id)).scalars().all()
        assert [(t.locale, t.version, t.active) for t in rows] == [
            ("en", english["version"], True),
            ("es", english["version"], True),
        ]
        assert active_template(session).locale == "en"
    assert generate(seed_engine).created == 2
    with session_scope(seed_engine) as session:
        versions = session.execute(select(Review.template_id)).scalars().all()
        assert set(versions) == {rows[0].id}  # the English template's
    # The same Spanish version with other content is refused (versions are immutable);
    # a new English version (`locale: en` is the default locale's) leaves Spanish active.
    changed = dict(spanish, title="Otro título {{ compound.name }}")
    assert problems(seed_engine, {"templates": [changed]}) == {
        "templates[0].version": f"version '{english['version']}' already exists with different "
        "content; template versions are immutable, give the change a new version"
    }
    with session_scope(seed_engine) as session:
        import_data(session, {"templates": [dict(english, locale="en", version="2099.1.1")]})
        active = session.execute(select(Template).where(Template.active)).scalars().all()
        assert sorted((t.locale, t.version) for t in active) == [
            ("en", "2099.1.1"),
            ("es", english["version"]),
        ]
        assert active_template(session).version == "2099.1.1"


def test_without_other_locales_leaves_out_what_is_not_configured() -> None:
    demo = read_file(DEMO)
    assert len([c for c in demo["compounds"] if "translations" in c]) == 3
    kept, skipped = without_other_locales(demo, ["en", "es"])
    assert (kept, skipped) == (demo, [])
    english, skipped = without_other_locales(demo, ["en"])
    assert skipped == ["es"]
    assert english["templates"] == []
    assert not any("translations" in r for r in english["compounds"] + english["evidence"])
    assert "translations" not in english["publisher"]
    assert [c["slug"] for c in english["compounds"]] == [c["slug"] for c in demo["compounds"]]

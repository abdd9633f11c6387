"""Locales foundation through real HTTP and the real CLI: the demo's Spanish is approved
with its facts, a translation edit awaits a reviewer, English pages do not move, and
catalog problems name the bad locale (README "Locales (foundation)")."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from typing import Any

from sqlalchemy import select, text

from db.engine import make_engine, session_scope
from db.models import Compound, Template
from db.tokens import create_token
from tests.conftest import ROOT, Api

READER = 'query R { review(slug: "ketamine--als") { revision text(format: PLAIN) } }'
UNAPPROVED = """
query U { compounds(first: 100, filter: {hasUnapprovedChanges: true}) { edges { node { slug } } } }
"""
IMPORT = """
mutation I($c: String!) {
  importCatalog(content: $c) { counts { kind created updated } effect { affectedReviews } }
}
"""


def bearer(demo_url: str, role: str) -> dict[str, str]:
    engine = make_engine(demo_url)
    with session_scope(engine) as session:
        token, _ = create_token(session, f"{role}-locales", role)
    engine.dispose()
    return {"authorization": f"Bearer {token}"}


async def post(api: Api, query: str, headers: dict[str, str], **variables: Any) -> dict[str, Any]:
    response = await api.post(query, variables or None, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def approved_facts(demo_url: str, slug: str) -> dict[str, Any]:
    """The facts of the compound's approved copy (what readers get)."""
    engine = make_engine(demo_url)
    with session_scope(engine) as session:
        facts = session.execute(
            text(
                "SELECT v.facts FROM public_compound p JOIN fact_version v ON v.id = p.version_id "
                "WHERE p.slug = :slug"
            ),
            {"slug": slug},
        ).scalar_one()
    engine.dispose()
    return facts if isinstance(facts, dict) else json.loads(facts)


def ketamine_catalog(demo_url: str) -> dict[str, Any]:
    engine = make_engine(demo_url)
    with session_scope(engine) as session:
        row = session.execute(select(Compound).where(Compound.slug == "ketamine")).scalar_one()
        out = {
            "slug": row.slug,
            "name": row.name,
            "aliases": row.aliases,
            "drug_class": row.drug_class,
            "safety_profile": row.safety_profile,
            "regulatory_status": row.regulatory_status,
            "evidence_level": row.evidence_level,
            "mechanisms": row.mechanisms,
            "translations": row.translations,
        }
    engine.dispose()
    return out


async def test_a_translation_is_approved_with_its_facts(api: Api, demo_url: str) -> None:
    editor = bearer(demo_url, "editor")
    # The demo's sign-off approved ketamine's Spanish with its English facts.
    approved = approved_facts(demo_url, "ketamine")
    assert approved["name"] == "Ketamine (IV / Esketamine)"
    assert approved["translations"]["es"]["name"] == "Ketamina (IV / esketamina)"
    assert "ketamine" not in str(await post(api, UNAPPROVED, editor))
    before = await api.data(READER)

    # An edit of the Spanish alone is a change of the record that awaits a reviewer.
    record = ketamine_catalog(demo_url)
    record["translations"]["es"]["name"] = "Ketamina (intravenosa)"
    import_yaml = "compounds:\n  - " + json.dumps(record, ensure_ascii=False)
    result = await post(api, IMPORT, editor, c=import_yaml)
    assert "errors" not in result, result
    counts = {c["kind"]: c for c in result["data"]["importCatalog"]["counts"]}
    assert counts["compounds"]["updated"] == 1
    queue = await post(api, UNAPPROVED, editor)
    assert {"node": {"slug": "ketamine"}} in queue["data"]["compounds"]["edges"]
    # Readers keep the approved Spanish and the same English page, byte for byte.
    assert approved_facts(demo_url, "ketamine")["translations"]["es"]["name"] == (
        "Ketamina (IV / esketamina)"
    )
    assert await api.data(READER) == before


async def test_an_edit_of_english_facts_keeps_the_translations(api: Api, demo_url: str) -> None:
    editor = bearer(demo_url, "editor")
    record = ketamine_catalog(demo_url)
    assert record["translations"]["es"]["name"] == "Ketamina (IV / esketamina)"
    working = (await post(api, 'query { compound(slug: "ketamine") { revision } }', editor))[
        "data"
    ]["compound"]["revision"]
    result = await post(
        api,
        'mutation U($rev: Int!) { updateCompound(slug: "ketamine", expectedRevision: $rev, '
        'input: {evidenceLevel: "Changed in English"}) { compound { revision } } }',
        editor,
        rev=working,
    )
    assert "errors" not in result, result
    after = ketamine_catalog(demo_url)
    assert after["evidence_level"] == "Changed in English"
    assert after["translations"] == record["translations"]


async def test_bad_locales_are_bad_user_input_with_paths(api: Api, demo_url: str) -> None:
    editor = bearer(demo_url, "editor")
    content = (
        "conditions:\n"
        "  - slug: hiccups\n    name: Hiccups\n    specialist: family doctor\n"
        "    translations:\n      de: {name: Schluckauf}\n      es: {name: Hipo, icd10: R06.6}\n"
        "templates:\n  - {kind: safety, locale: pt-br, version: '1', title: t, byline: b,"
        " sections: []}\n"
    )
    result = await post(api, IMPORT, editor, c=content)
    error = result["errors"][0]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    paths = {p["path"]: p["message"] for p in error["extensions"]["problems"]}
    assert paths["conditions[0].translations.de"] == (
        "unknown locale 'de' (COMPENDIUM_LOCALES: en, es)"
    )
    assert paths["conditions[0].translations.es.icd10"] == "unknown field"
    assert paths["templates[0].locale"] == "write the locale tag 'pt-br' as 'pt-BR'"
    engine = make_engine(demo_url)
    with session_scope(engine) as session:
        hiccups = session.execute(text("SELECT count(*) FROM condition WHERE slug = 'hiccups'"))
        assert hiccups.scalar() == 0
    engine.dispose()


def test_demo_without_spanish_configured(new_db: Callable[[], str]) -> None:
    url = new_db()
    env = dict(os.environ, COMPENDIUM_DATABASE_URL=url, COMPENDIUM_LOCALES="en")
    proc = subprocess.run(
        [sys.executable, "-m", "server.cli", "demo"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    out = " ".join(proc.stdout.split())
    assert "left out the locales es (not in COMPENDIUM_LOCALES=en)" in out
    engine = make_engine(url)
    with session_scope(engine) as session:
        assert session.execute(select(Template.locale)).scalars().all() == ["en"]
        stored = session.execute(select(Compound.translations)).scalars().all()
        assert len(stored) == 36 and all(t == {} for t in stored)
    engine.dispose()


def test_a_bad_locale_setting_stops_the_command_line_plainly(new_db: Callable[[], str]) -> None:
    env = dict(
        os.environ,
        COMPENDIUM_DATABASE_URL=new_db(),
        COMPENDIUM_LOCALES="en,es,es-MX",
        COMPENDIUM_LOCALE_FALLBACKS="es:es-MX,es-MX:es",
    )
    proc = subprocess.run(
        [sys.executable, "-m", "server.cli", "db", "upgrade"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip() == "error: configuration: fallback cycle: es -> es-MX -> es"
    proc = subprocess.run(
        [sys.executable, "-m", "server.cli", "db", "upgrade"],
        cwd=ROOT,
        env=dict(env, COMPENDIUM_LOCALES="en,es_MX", COMPENDIUM_LOCALE_FALLBACKS=""),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (proc.returncode, proc.stderr.strip()) == (
        2,
        "error: COMPENDIUM_LOCALES: 'es_MX' is not a BCP 47 language tag "
        "(e.g. 'en', 'es', 'es-MX', 'zh-Hant-TW')",
    )

"""Upgrading a database from before the published read model: what was published stays
signed off, facts included; records no published review was built from leave the public
catalog (and the change feed says so)."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import text

from catalog.importing import import_data
from db.engine import make_engine, session_scope
from db.migrate import upgrade
from editorial.generation import generate
from tests.conftest import TEMPLATES, Api, load

BEFORE = "8d1f3a6b0007"  # the last revision without the read model
CATALOG = {
    "publisher": {
        "name": "Example Health (fictional)",
        "medical_advisor": {"name": "Dr. Example (fictional)", "credentials": "MD"},
        "cta": "Ask your doctor.",
    },
    "compounds": [
        {
            "slug": "alpha",
            "name": "Alphamab",
            "drug_class": "Antibody",
            "safety_profile": ["Infusion reactions"],
            "regulatory_status": "Approved",
            "evidence_level": "Phase III",
            "mechanisms": ["Binds X"],
            "aliases": ["alpha-x"],
            "citations": [{"pmid": "12345678"}],
        },
        {
            "slug": "beta",
            "name": "Betanib",
            "drug_class": "Kinase inhibitor",
            "safety_profile": ["Rash"],
            "regulatory_status": "Investigational",
            "evidence_level": "Phase I",
            "mechanisms": ["Inhibits Y"],
        },
    ],
    "conditions": [{"slug": "gamma", "name": "Gamma", "specialist": "gamma specialist"}],
    "evidence": [
        {"compound": "alpha", "condition": "gamma", "research": "specific", "notes": "Two RCTs."},
        {"compound": "beta", "condition": "gamma", "research": "limited"},
    ],
}


# Columns later migrations add that today's code writes: added by hand for the setup
# (written by today's import and generation), then dropped before the upgrade runs.
LATER_COLUMNS = [
    ("publisher", "translations", "JSON NOT NULL DEFAULT '{}'"),
    ("compound", "translations", "JSON NOT NULL DEFAULT '{}'"),
    ("condition", "translations", "JSON NOT NULL DEFAULT '{}'"),
    ("evidence", "translations", "JSON NOT NULL DEFAULT '{}'"),
    ("template", "locale", "VARCHAR(35) NOT NULL DEFAULT 'en'"),
    ("review", "locale", "VARCHAR(35) NOT NULL DEFAULT 'en'"),
    ("review", "source_revision_id", "INTEGER"),
]


def later_columns(engine: Any, add: bool) -> None:
    with session_scope(engine) as session:
        for table, column, ddl in LATER_COLUMNS:
            change = f"ADD COLUMN {column} {ddl}" if add else f"DROP COLUMN {column}"
            session.execute(text(f'ALTER TABLE "{table}" {change}'))


def publish_the_old_way(engine: Any, slug: str) -> None:
    """What publishing wrote before this migration: a revision of the sections only."""
    with session_scope(engine) as session:
        review = session.execute(text("SELECT * FROM review WHERE slug = :s"), {"s": slug}).one()
        sections = [
            {
                "key": s.key,
                "position": s.position,
                "heading": s.heading,
                "blocks": json.loads(s.blocks) if isinstance(s.blocks, str) else s.blocks,
                "origin": str(s.origin),
            }
            for s in session.execute(
                text("SELECT * FROM review_section WHERE review_id = :r ORDER BY position"),
                {"r": review.id},
            )
        ]
        now = "2026-11-30 12:00:00"
        session.execute(
            text(
                "INSERT INTO review_revision (review_id, number, title, byline, notice, "
                "description, sections, fingerprint, template_version, research, approved_by, "
                "approved_at, acknowledged) VALUES (:r, 1, :title, :byline, :notice, :d, "
                ":sections, :fp, :tv, :research, 'Dr. Old (fictional)', :now, '[]')"
            ),
            {
                "r": review.id,
                "title": review.title,
                "byline": review.byline,
                "notice": review.notice,
                "d": review.description,
                "sections": json.dumps(sections),
                "fp": review.fingerprint,
                "tv": review.template_version,
                "research": review.research,
                "now": now,
            },
        )
        session.execute(
            text(
                "UPDATE review SET status = 'PUBLISHED', published_fingerprint = fingerprint, "
                "published_at = :now, last_reviewed_at = :now, review_due_at = :now, "
                "published_revision_id = (SELECT id FROM review_revision WHERE review_id = :r) "
                "WHERE id = :r"
            ),
            {"r": review.id, "now": now},
        )


async def test_published_facts_are_approved_after_the_upgrade(new_db: Any, make_api: Any) -> None:
    url = new_db()
    upgrade(url, BEFORE)
    engine = make_engine(url)
    later_columns(engine, add=True)
    load(engine, TEMPLATES)
    with session_scope(engine) as session:
        import_data(session, CATALOG)
    generate(engine, parallel=1)
    publish_the_old_way(engine, "alpha--gamma")
    with engine.connect() as conn:
        logged_before = conn.execute(text("SELECT max(id) FROM change_log")).scalar()
    later_columns(engine, add=False)
    engine.dispose()

    upgrade(url)

    api: Api = await make_api(database_url=url)
    data = await api.data(
        """query Upgraded {
          review(slug: "alpha--gamma") { title compound { name aliases citations { value }
            revision } condition { fullName } evidence { research notes } byline { text } }
          unpublished: review(slug: "beta--gamma") { title }
          alpha: compound(slug: "alpha") { name }
          beta: compound(slug: "beta") { name }
          compounds { totalCount }
          search(query: "betanib alphamab") { edges { node { __typename
            ... on Compound { slug } ... on Review { slug } } } }
          publisher { advisorName }
        }"""
    )
    review = data["review"]
    assert review["compound"] == {
        "name": "Alphamab",
        "aliases": ["alpha-x"],
        "citations": [{"value": "12345678"}],
        "revision": 1,
    }
    assert review["condition"] == {"fullName": "Gamma"}
    assert review["evidence"] == {"research": "SPECIFIC", "notes": "Two RCTs."}
    assert review["byline"]["text"].startswith("By Example Health (fictional)")
    assert data["unpublished"] is None
    assert data["alpha"] == {"name": "Alphamab"} and data["beta"] is None
    assert data["compounds"]["totalCount"] == 1
    assert {e["node"]["slug"] for e in data["search"]["edges"]} == {"alpha", "alpha--gamma"}
    assert data["publisher"] == {"advisorName": "Dr. Example (fictional)"}
    # The feed tells clients that beta left the public catalog.
    engine = make_engine(url)
    with engine.connect() as conn:
        after = conn.execute(
            text("SELECT entity, slug, op FROM change_log WHERE id > :p ORDER BY id"),
            {"p": logged_before},
        ).all()
    engine.dispose()
    assert [tuple(map(str, row)) for row in after] == [("compound", "beta", "DELETE")]

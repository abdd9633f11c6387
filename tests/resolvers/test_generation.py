"""Generation: one review per evidence row, fingerprints, stale passes, edited sections kept."""

from __future__ import annotations

import copy

import yaml
from sqlalchemy import Engine, select, update

from catalog.importing import import_data
from db.engine import session_scope
from db.models import Review, ReviewSection, SectionOrigin
from editorial.generation import generate
from tests.conftest import DEMO, FIXTURES, TEMPLATES, load

SEED = yaml.safe_load((FIXTURES / "seed-pages.yaml").read_text())


def reviews(engine: Engine) -> dict[str, tuple]:
    with session_scope(engine) as session:
        return {
            r.slug: (r.fingerprint, r.revision, r.updated_at, r.template_version)
            for r in session.execute(select(Review)).scalars()
        }


def test_generates_one_review_per_evidence_row(engine: Engine) -> None:
    load(engine, TEMPLATES, DEMO)
    report = generate(engine)
    demo = yaml.safe_load(DEMO.read_text())
    assert report.created == len(demo["evidence"]) == len(reviews(engine))
    with session_scope(engine) as session:
        keys = {
            tuple(row)
            for row in session.execute(
                select(ReviewSection.key).distinct()  # type: ignore[call-overload]
            )
        }
    assert {k for (k,) in keys} == {
        "INTRO",
        "SAFETY_PROFILE",
        "CONSIDERATIONS",
        "LITERATURE",
        "BOTTOM_LINE",
        "DISCLAIMER",
        "CTA",
        "FAQ",
    }


def test_stale_pass_touches_only_changed_inputs(engine: Engine) -> None:
    load(engine, TEMPLATES, DEMO)
    generate(engine)
    before = reviews(engine)
    assert generate(engine, stale_only=True).skipped == len(before)
    assert reviews(engine) == before

    demo = yaml.safe_load(DEMO.read_text())
    compound = copy.deepcopy(demo["compounds"][0])
    compound["evidence_level"] = "Revised evidence level"
    with session_scope(engine) as session:
        import_data(session, {"compounds": [compound]})
    report = generate(engine, stale_only=True)
    after = reviews(engine)
    changed = {slug for slug in after if after[slug] != before[slug]}
    expected = {
        f"{compound['slug']}--{e['condition']}"
        for e in demo["evidence"]
        if e["compound"] == compound["slug"]
    }
    assert changed == expected and report.refreshed == len(expected)


def test_template_version_change_makes_every_review_stale(engine: Engine) -> None:
    load(engine, TEMPLATES, FIXTURES / "seed-pages.yaml")
    generate(engine)
    src = yaml.safe_load(TEMPLATES.read_text())["templates"][0]
    src["version"] = "next"
    src["sections"][4]["heading"] = "The Bottom Line"
    with session_scope(engine) as session:
        import_data(session, {"templates": [src]})
    assert generate(engine, stale_only=True).refreshed == 2
    assert {v[3] for v in reviews(engine).values()} == {"next"}


def test_edited_sections_survive_regeneration(engine: Engine) -> None:
    load(engine, TEMPLATES, FIXTURES / "seed-pages.yaml")
    generate(engine)
    edited = [{"type": "paragraph", "spans": [{"text": "Editor's own words.", "bold": False}]}]
    with session_scope(engine) as session:
        rid = session.execute(select(Review.id).where(Review.slug == "ketamine--als")).scalar_one()
        session.execute(
            update(ReviewSection)
            .where(ReviewSection.review_id == rid, ReviewSection.key == "BOTTOM_LINE")
            .values(blocks=edited, origin=SectionOrigin.EDITED)
        )
    changed = copy.deepcopy(SEED["compounds"][0])
    changed["name"] = "Ketamine"
    with session_scope(engine) as session:
        import_data(session, {"compounds": [changed]})
    generate(engine)  # a full pass, not only stale reviews
    with session_scope(engine) as session:
        sections = {
            s.key: s
            for s in session.execute(
                select(ReviewSection).where(ReviewSection.review_id == rid)
            ).scalars()
        }
    assert sections["BOTTOM_LINE"].blocks == edited and sections["BOTTOM_LINE"].origin == "EDITED"
    assert (
        sections["INTRO"].heading
        == "Is Ketamine Safe for ALS (Amyotrophic Lateral Sclerosis) Patients?"
    )
    assert len(sections) == 8

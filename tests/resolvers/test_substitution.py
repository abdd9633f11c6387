"""The page text comes only from template and facts: every fact lands where it belongs."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from catalog.importing import import_data
from content.document import TextFormat, render_page
from db.engine import session_scope
from editorial.generation import generate
from editorial.pages import page_for_pair
from tests.conftest import TEMPLATES, load

FACTS = {
    "publisher": {
        "name": "Northwind Reviews",
        "medical_advisor": {"name": "Dr. Q. Placeholder", "credentials": "PharmD"},
        "cta": "Ask Northwind about your medicines.",
    },
    "compounds": [
        {
            "slug": "zorbicin",
            "name": "Zorbicin XR",
            "drug_class": "Imaginary Kinase Modulator",
            "safety_profile": ["Mild headache", "rare rash"],
            "regulatory_status": "Not approved anywhere",
            "evidence_level": "One small pilot study",
            "mechanisms": ["kinase modulation", "membrane stabilisation"],
        }
    ],
    "conditions": [
        {
            "slug": "wd",
            "name": "WD",
            "full_name": "WD (Wobbly Disease)",
            "specialist": "wobbleologist",
        },
        {"slug": "gout", "name": "Gout", "specialist": "rheumatologist"},
    ],
    "evidence": [
        {"compound": "zorbicin", "condition": "wd", "research": "specific"},
        {"compound": "zorbicin", "condition": "gout", "research": "limited"},
    ],
}


@pytest.fixture
def lines(engine: Engine) -> dict[str, list[str]]:
    load(engine, TEMPLATES)
    with session_scope(engine) as session:
        import_data(session, FACTS)
    generate(engine)
    out = {}
    with session_scope(engine) as session:
        for cond in ("wd", "gout"):
            page, _ = page_for_pair(session, "zorbicin", cond)
            out[cond] = render_page(page, TextFormat.PLAIN).splitlines()
    return out


def test_title_and_byline(lines: dict[str, list[str]]) -> None:
    wd = lines["wd"]
    assert wd[0] == "Is Zorbicin XR Safe for WD (Wobbly Disease) Patients? — Research Review"
    assert wd[1] == "By Northwind Reviews, Medical Advisor: Dr. Q. Placeholder, PharmD"
    assert wd[2] == "Is Zorbicin XR Safe for WD (Wobbly Disease) Patients?"


def test_short_name_and_full_name_places(lines: dict[str, list[str]]) -> None:
    text = "\n".join(lines["wd"])
    # Full name: title, intro "patients with", drug interactions, FAQ answer.
    assert "specifically in patients with WD (Wobbly Disease)." in text
    assert "standard treatments used for WD (Wobbly Disease)." in text
    assert "and the complexity of WD (Wobbly Disease) management protocols." in text
    # Short name: intro diagnosis, considerations heading, risks, bottom line, FAQ questions.
    assert "a serious diagnosis like WD. " in text
    assert "Safety Considerations for WD Patients Specifically" in lines["wd"]
    assert "Disease-specific risks: Patients with WD may have" in text
    assert 'universally "safe" for all WD patients.' in text
    assert "Can Zorbicin XR interfere with WD treatments?" in lines["wd"]
    assert "WD (Wobbly Disease) patients" not in text.replace(
        "for WD (Wobbly Disease) Patients?", ""
    )


def test_facts_substituted(lines: dict[str, list[str]]) -> None:
    wd = lines["wd"]
    assert (
        "Zorbicin XR (Imaginary Kinase Modulator) has the following known safety characteristics based on published literature:"
        in wd
    )
    assert "Mild headache; rare rash" in wd
    assert "Current regulatory status: Not approved anywhere" in wd
    assert "Evidence quality: Current evidence level: One small pilot study" in wd
    assert (
        "The mechanistic rationale for Zorbicin XR involves: kinase modulation; membrane stabilisation"
        in wd
    )
    assert any("always consult your wobbleologist before" in line for line in wd)
    assert wd[-1].startswith(
        "Search PubMed (pubmed.ncbi.nlm.nih.gov) for 'Zorbicin XR safety' and 'Zorbicin XR WD'"
    )
    assert "Ask Northwind about your medicines." in wd
    assert not any("Ketamine" in line or "ALS" in line for line in wd)


def test_both_research_wordings(lines: dict[str, list[str]]) -> None:
    wd, gout = lines["wd"], lines["gout"]
    assert "There is specific published research examining safety in this population." in wd
    assert (
        "Research has specifically examined Zorbicin XR in WD contexts, providing some "
        "disease-specific safety data, though this does not replace clinical guidance."
    ) in wd
    assert (
        "There is limited published research specifically examining Zorbicin XR safety in "
        "Gout patients, though general safety data exists."
    ) in gout
    assert (
        "Most safety data for Zorbicin XR comes from its primary approved uses. Gout-specific "
        "data is limited, making individual risk assessment by your physician essential."
    ) in gout
    assert not any("limited published research" in line for line in wd)
    assert not any("specific published research examining safety" in line for line in gout)


def test_full_name_defaults_to_name(lines: dict[str, list[str]]) -> None:
    assert lines["gout"][0] == "Is Zorbicin XR Safe for Gout Patients? — Research Review"


def test_disclaimer_always_present(lines: dict[str, list[str]]) -> None:
    for page in lines.values():
        assert any(
            line.startswith("Medical Disclaimer: This page summarizes published research")
            for line in page
        )

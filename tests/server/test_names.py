"""Display names, through real HTTP requests and the real CLI (issue 17, item 18).

Names are normalised before they are stored (invisible characters dropped, NFKC);
names mixing scripts within a word (a Cyrillic 'а' in "Ketаmine") and names equal to
another record's once normalised are refused with a problem per field path, by the
GraphQL mutations and by `compendium import`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from db.engine import make_engine, session_scope
from db.tokens import create_token
from tests.conftest import Api
from tests.server.editing import Client
from tests.server.test_cli import run


@pytest.fixture
def editor(api: Api, demo_url: str) -> Client:
    engine = make_engine(demo_url)
    with session_scope(engine) as session:
        secret, _ = create_token(session, "names-editor", "editor")
    engine.dispose()
    return Client(api, secret)


CREATE_COMPOUND = """
mutation New($input: CompoundInput!) { createCompound(input: $input) { compound { slug name aliases drugClass } } }
"""
CREATE_CONDITION = """
mutation New($input: ConditionInput!) { createCondition(input: $input) { condition { slug name fullName aliases specialist } } }
"""
UPDATE_COMPOUND_NAME = """
mutation U($slug: String!, $name: String!) {
  updateCompound(slug: $slug, expectedRevision: 1, input: {name: $name}) { compound { name revision } }
}
"""
UPDATE_PUBLISHER = """
mutation P($rev: Int, $input: PublisherInput!) {
  updatePublisher(expectedRevision: $rev, input: $input) { publisher { name advisorName advisorCredentials } }
}
"""


def compound(slug: str, **fields: Any) -> dict[str, Any]:
    return {
        "slug": slug,
        "name": "Testamine",
        "drugClass": "Test class",
        "safetyProfile": ["Well tolerated"],
        "regulatoryStatus": "Not approved",
        "evidenceLevel": "Preclinical",
        "mechanisms": ["Unknown"],
        **fields,
    }


def problems(error: dict[str, Any]) -> dict[str, str]:
    assert error["extensions"]["code"] == "BAD_USER_INPUT", error
    return {p["path"]: p["message"] for p in error["extensions"]["problems"]}


async def test_names_are_stored_without_invisible_characters(editor: Client) -> None:
    created = (
        await editor.data(
            CREATE_COMPOUND,
            {
                "input": compound(
                    "testamine",
                    name="\u202eTesta\u200bmine\u202c \ufb01ne\u00a0form",
                    aliases=["te\u00adstamine"],
                    drugClass="NMDA\u2060 antagonist",
                )
            },
        )
    )["createCompound"]["compound"]
    assert created == {
        "slug": "testamine",
        "name": "Testamine fine form",
        "aliases": ["testamine"],
        "drugClass": "NMDA antagonist",
    }
    condition = await editor.data(
        CREATE_CONDITION,
        {
            "input": {
                "slug": "tinnitus",
                "name": "Tinn\u200ditus",
                "fullName": "\u2067Tinnitus\u2069 (ringing)",
                "specialist": "ENT\u00a0specialist",
                "aliases": ["ringing\u200b ears"],
            }
        },
    )
    assert condition["createCondition"]["condition"] == {
        "slug": "tinnitus",
        "name": "Tinnitus",
        "fullName": "Tinnitus (ringing)",
        "aliases": ["ringing ears"],
        "specialist": "ENT specialist",
    }


async def test_mixed_script_names_are_refused_per_field(editor: Client, demo_url: str) -> None:
    error = await editor.error(
        CREATE_COMPOUND,
        {
            "input": compound(
                "ketamine-2",
                name="Ket\u0430mine",  # Cyrillic а
                aliases=["esketamine", "\u0435sketamine"],  # Cyrillic е
                drugClass="NMDA \u0391ntagonist",  # Greek Alpha
            )
        },
    )
    found = problems(error)
    assert set(found) == {"input.name", "input.aliases[1]", "input.drug_class"}
    assert "Cyrillic" in found["input.name"] and "Latin" in found["input.name"]
    assert "Ket\u0430mine" in found["input.name"]
    assert (await editor.data('query C { compound(slug: "ketamine-2") { slug } }'))[
        "compound"
    ] is None

    # Greek letters as scientific symbols stay allowed (κB, TNFα); whole words in another
    # script too.
    ok = await editor.data(
        CREATE_COMPOUND,
        {
            "input": compound(
                "nf-kb-blocker", name="NF-\u03baB Blocker", drugClass="TNF\u03b1 inhibitor"
            )
        },
    )
    assert ok["createCompound"]["compound"]["name"] == "NF-\u03baB Blocker"
    ok = await editor.data(
        CREATE_CONDITION,
        {"input": {"slug": "insomnia", "name": "Insomnia (бессонница)", "specialist": "sleep"}},
    )
    assert ok["createCondition"]["condition"]["name"] == "Insomnia (бессонница)"

    error = await editor.error(
        CREATE_CONDITION,
        {
            "input": {
                "slug": "tinnitus",
                "name": "Tinnitus",
                "fullName": "Tinnitus (ringing in the \u0435ars)",
                "specialist": "\u0415NT specialist",
            }
        },
    )
    assert set(problems(error)) == {"input.full_name", "input.specialist"}


async def test_the_publisher_names_are_checked(editor: Client) -> None:
    current = (await editor.data("query P { publisher { revision } }"))["publisher"]
    error = await editor.error(
        UPDATE_PUBLISHER,
        {
            "rev": current["revision"],
            "input": {"advisorName": "Dr. J\u043ehn Doe", "advisorCredentials": "M\u0414"},
        },
    )
    assert set(problems(error)) == {
        "input.medical_advisor.name",
        "input.medical_advisor.credentials",
    }
    updated = await editor.data(
        UPDATE_PUBLISHER,
        {"rev": current["revision"], "input": {"name": "Demo\u200b Press\u202e"}},
    )
    assert updated["updatePublisher"]["publisher"]["name"] == "Demo Press"


async def test_duplicate_display_names_are_refused(editor: Client) -> None:
    # Equal to the demo's "Ketamine (IV / Esketamine)" once normalised (case, spacing,
    # invisible characters, compatibility forms).
    error = await editor.error(
        CREATE_COMPOUND,
        {"input": compound("ketamine-copy", name="KETAMINE  (IV / Es\u200bketamine)")},
    )
    message = problems(error)["input.name"]
    assert "ketamine" in message and "Ketamine (IV / Esketamine)" in message
    error = await editor.error(
        UPDATE_COMPOUND_NAME, {"slug": "metformin", "name": "\uff2d\uff45latonin"}
    )
    assert "melatonin" in problems(error)["input.name"]
    # A record keeps its own name, and may change its case.
    same = await editor.data(
        UPDATE_COMPOUND_NAME, {"slug": "ketamine", "name": "KETAMINE (IV / Esketamine)"}
    )
    assert same["updateCompound"]["compound"]["name"] == "KETAMINE (IV / Esketamine)"

    error = await editor.error(
        CREATE_CONDITION,
        {"input": {"slug": "als-2", "name": "als", "specialist": "neurologist"}},
    )
    assert "'als'" in problems(error)["input.name"]


def test_import_refuses_unsafe_and_duplicate_names(db_url: str, tmp_path: Path) -> None:
    catalog = tmp_path / "names.yaml"
    catalog.write_text(
        'publisher: {name: Press, medical_advisor: {name: "Dr. \u0410da", credentials: MD}}\n'
        "compounds:\n"
        '  - {slug: one, name: "Ket\u0430mine", drug_class: c, safety_profile: [s],'
        " regulatory_status: r, evidence_level: e, mechanisms: [m]}\n"
        '  - {slug: two, name: "Drug Two", drug_class: c, safety_profile: [s],'
        " regulatory_status: r, evidence_level: e, mechanisms: [m]}\n"
        '  - {slug: three, name: "drug\u00a0two", drug_class: c, safety_profile: [s],'
        " regulatory_status: r, evidence_level: e, mechanisms: [m]}\n"
        "conditions:\n"
        "  - {slug: a, name: Same, specialist: s}\n"
        '  - {slug: b, name: "S\u200bame", specialist: s}\n',
        encoding="utf-8",
    )
    result = run(db_url, "import", str(catalog), check=False)
    assert result.returncode == 1, result.stderr
    lines = result.stderr
    assert "compounds[0].name: " in lines and "Cyrillic" in lines
    assert "compounds[2].name: " in lines and "compounds[1]" in lines
    assert "conditions[1].name: " in lines and "conditions[0]" in lines
    assert "publisher.medical_advisor.name: " in lines
    assert "nothing was imported" in lines

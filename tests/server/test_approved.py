"""Readers get exactly what a medical reviewer approved, facts included, on every path.

An editor changes each kind of fact and creates records; every anonymous read (POST,
cached persisted GET, lists, cursors, search, the change feed, JSON-LD, node) stays
byte-identical and nothing is purged. After a reviewer's approval the new facts
appear and exactly the affected cached entries are purged.

This module: the statements of anonymous requests, the editors' working copy, JSON-LD;
the reader paths before and after an approval are in test_approved_purges.py.
"""

from __future__ import annotations

import json
import re

import pytest

from tests.conftest import Api
from tests.server.reader_paths import FEED, READS, editor_changes_everything, node_ids, tokens
from tests.workflow import approve, edit_fact, graphql


@pytest.fixture
def secrets(demo_url: str) -> dict[str, str]:
    return tokens(demo_url)


WORKING_TABLES = (
    "compound",
    "condition",
    "evidence",
    "citation",
    "publisher",
    "review",
    "review_section",
    "template",
)
_TABLE = re.compile(r"\b(?:FROM|JOIN)\s+\"?([a-z_]+)\"?", re.IGNORECASE)


async def test_anonymous_requests_read_the_published_read_model_only(api: Api) -> None:
    """Statements of anonymous requests name no working table: nothing unapproved is even read."""
    ids = await node_ids(api)
    for name, (query, variables) in READS.items():
        variables = ids if name == "node" else variables
        api.statements.clear()
        response = await api.post(query, variables)
        assert "errors" not in response.json(), response.text
        tables = {t.lower() for s in api.statements for t in _TABLE.findall(s)}
        assert tables, name
        assert not tables & set(WORKING_TABLES), (name, tables)
    api.statements.clear()
    await api.post(FEED, {"since": None})
    tables = {t.lower() for s in api.statements for t in _TABLE.findall(s)}
    assert tables and not tables & set(WORKING_TABLES), tables


async def test_editors_see_the_working_copy_and_what_is_pending(
    api: Api, secrets: dict[str, str]
) -> None:
    editor = secrets["editor"]
    await editor_changes_everything(api, editor)
    data = await graphql(
        api,
        editor,
        """query Pending {
          compound(slug: "ketamine") { name hasUnapprovedChanges approved { name revision } }
          unapproved: compounds(first: 100, filter: {hasUnapprovedChanges: true}) {
            edges { node { slug approved { slug } } } }
          conditions(filter: {hasUnapprovedChanges: true}) { edges { node { slug } } }
          publisher { advisorName hasUnapprovedChanges approved { advisorName } }
          review(slug: "ketamine--als") { evidence { notes hasUnapprovedChanges approved { notes } } }
          lithium: compound(slug: "lithium") { hasUnapprovedChanges approved { name } }
        }""",
        {},
    )
    assert data["compound"]["name"] == "Ketamine UNREVIEWED"
    assert data["compound"]["hasUnapprovedChanges"] is True
    assert data["compound"]["approved"] == {"name": "Ketamine (IV / Esketamine)", "revision": 1}
    unapproved = {e["node"]["slug"]: e["node"]["approved"] for e in data["unapproved"]["edges"]}
    assert unapproved == {"ketamine": {"slug": "ketamine"}, "zz-unreviewed": None}
    assert {e["node"]["slug"] for e in data["conditions"]["edges"]} == {
        "als",
        "zz-unreviewed-condition",
    }
    assert data["publisher"]["hasUnapprovedChanges"] is True
    assert data["publisher"]["approved"]["advisorName"] != "Dr. UNREVIEWED"
    evidence = data["review"]["evidence"]
    assert evidence["hasUnapprovedChanges"] is True and evidence["approved"]["notes"] == ""
    assert data["lithium"]["hasUnapprovedChanges"] is False
    # Readers asking for the work queue get nothing.
    response = await api.post(
        "query Q { compounds(filter: {hasUnapprovedChanges: true}) { totalCount } }"
    )
    assert response.json()["data"]["compounds"]["totalCount"] == 0


async def test_json_ld_script_is_safe_to_embed(api: Api, secrets: dict[str, str]) -> None:
    """A fact that tries to close the script element comes back escaped in jsonLdScript."""
    hostile = "</script><script>alert(1)</script><!-- &"
    await edit_fact(api, secrets["editor"], "compound", "ketamine", drugClass=hostile)
    await approve(api, secrets["editor"], secrets["reviewer"], "ketamine--als")
    seo = (
        await api.data('query J { review(slug: "ketamine--als") { seo { jsonLd jsonLdScript } } }')
    )["review"]["seo"]
    assert seo["jsonLd"]["@graph"][0]["about"][0]["drugClass"]["name"] == hostile
    script = seo["jsonLdScript"]
    assert not set("<>&\u2028\u2029") & set(script)
    assert json.loads(script) == seo["jsonLd"]
    assert "\\u003c/script\\u003e" in script

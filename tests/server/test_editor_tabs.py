"""GraphiQL's editorial tabs (server/editor_tabs.py): valid against the schema, served to the
page, and doing the editorial jobs they stand for over real HTTP."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from graphql import (
    GraphQLSchema,
    NonNullTypeNode,
    OperationDefinitionNode,
    build_schema,
    parse,
    validate,
)
from sqlalchemy import Engine

from db.engine import make_engine, session_scope
from db.tokens import create_token
from schema import schema as strawberry_schema
from server.editor_tabs import (
    EDIT_SECTION,
    EDITORIAL_TABS,
    PUBLISH,
    REVIEW_PAGE,
    REVISION_QUERY,
    SUBMIT,
    TABS,
    WORK_QUEUE,
    Tab,
)
from tests.conftest import Api

SCHEMA: GraphQLSchema = strawberry_schema._schema
SLUG = "ketamine--als"


def operations(query: str) -> list[OperationDefinitionNode]:
    return [d for d in parse(query).definitions if isinstance(d, OperationDefinitionNode)]


@pytest.mark.parametrize("tab", TABS, ids=[tab.name for tab in TABS])
def test_every_tab_is_valid_against_the_schema(tab: Tab) -> None:
    errors = validate(SCHEMA, parse(tab.query))
    assert errors == [], [error.message for error in errors]
    ops = operations(tab.query)
    names = [op.name.value for op in ops if op.name]
    assert len(names) == len(ops), "every operation is named (GraphiQL titles the tab with it)"
    assert names[0] == tab.name, "GraphiQL titles a tab with its first operation's name"
    # The variables editor holds exactly the operations' variables, the required ones included.
    declared = {v.variable.name.value: v for op in ops for v in op.variable_definitions}
    assert set(tab.variables) <= set(declared), set(tab.variables) - set(declared)
    for name, definition in declared.items():
        required = isinstance(definition.type, NonNullTypeNode) and not definition.default_value
        if required:
            assert name in tab.variables, (
                f"{tab.name}: ${name} is required but not in the variables"
            )
    # Every tab names its review $slug: what the toolbar's controls read.
    if "slug" in declared:
        assert tab.variables["slug"] == SLUG


def test_the_revision_lookup_is_valid_against_the_schema() -> None:
    assert validate(SCHEMA, parse(REVISION_QUERY)) == []
    assert [op.name.value for op in operations(REVISION_QUERY) if op.name] == ["ExpectedRevision"]


def test_a_schema_change_that_breaks_a_tab_is_caught() -> None:
    """The check above is real: were `updateSection` renamed, EditSection would not validate."""
    sdl = strawberry_schema.as_str()
    changed = sdl.replace("\n  updateSection(", "\n  replaceSection(")
    assert changed.count("replaceSection(") == 1
    errors = validate(build_schema(changed), parse(EDIT_SECTION.query))
    assert any("updateSection" in error.message for error in errors), errors
    assert validate(build_schema(changed), parse(WORK_QUEUE.query)) == []


def test_the_workflow_tabs_leave_expected_revision_to_fill() -> None:
    for tab in (EDIT_SECTION, SUBMIT, PUBLISH):
        assert "expectedRevision" in tab.variables and tab.variables["expectedRevision"] is None
        assert "Bearer" in tab.as_config()["headers"]
    assert REVIEW_PAGE.as_config()["headers"] == ""


async def test_the_graphiql_page_opens_with_the_tabs(api: Api) -> None:
    response = await api.client.get("/graphql", headers={"Accept": "text/html"})
    assert response.status_code == 200
    found = re.search(
        r'<script type="application/json" id="graphiql-config">(.*?)</script>', response.text, re.S
    )
    assert found is not None
    config = json.loads(found.group(1))
    assert config["defaultQuery"] == REVIEW_PAGE.query
    assert json.loads(config["defaultVariables"]) == REVIEW_PAGE.variables
    assert [tab["name"] for tab in config["tabs"]] == [tab.name for tab in EDITORIAL_TABS]
    for served, tab in zip(config["tabs"], EDITORIAL_TABS, strict=True):
        assert served["query"] == tab.query
        assert json.loads(served["variables"]) == tab.variables
    assert config["revisionQuery"] == REVISION_QUERY


# --- the tabs at work: what an editor does with them, over HTTP --------------------------------


@pytest.fixture
def demo_engine(demo_url: str) -> Iterator[Engine]:
    engine = make_engine(demo_url)
    yield engine
    engine.dispose()


def bearer(engine: Engine, name: str, role: str) -> dict[str, str]:
    with session_scope(engine) as session:
        secret, _row = create_token(session, name, role)
    return {"Authorization": f"Bearer {secret}"}


async def run(
    api: Api, tab: Tab | str, variables: dict[str, Any], headers: dict[str, str], op: str = ""
) -> dict[str, Any]:
    query = tab.query if isinstance(tab, Tab) else tab
    body: dict[str, Any] = {"query": query, "variables": variables}
    if op:
        body["operationName"] = op
    response = await api.client.post(
        "/graphql", json=body, headers={"accept": "application/json", **headers}
    )
    payload = response.json()
    assert response.status_code == 200, payload
    assert "errors" not in payload, payload["errors"]
    return payload["data"]  # type: ignore[no-any-return]


async def fill_revision(api: Api, variables: dict[str, Any], headers: dict[str, str]) -> None:
    """What the "Fill expectedRevision" control does: the section's revision, or the review's."""
    review = (await run(api, REVISION_QUERY, {"slug": variables["slug"]}, headers))["review"]
    if "key" in variables:
        sections = {s["key"]: s["revision"] for s in review["sections"]}
        variables["expectedRevision"] = sections[variables["key"]]
    else:
        variables["expectedRevision"] = review["revision"]


async def test_the_tabs_do_the_editorial_jobs(api: Api, demo_engine: Engine) -> None:
    editor = bearer(demo_engine, "ed", "editor")
    reviewer = bearer(demo_engine, "doc", "reviewer")

    page = await run(api, REVIEW_PAGE, dict(REVIEW_PAGE.variables), {})
    assert page["review"]["status"] == "PUBLISHED"
    queue = await run(api, WORK_QUEUE, dict(WORK_QUEUE.variables), editor)
    assert set(queue) == {"stale", "overdue", "inReview", "pendingCompounds", "pendingConditions"}
    assert queue["inReview"]["totalCount"] == 0

    edit = {**EDIT_SECTION.variables, "body": "Talk to your **neurologist** first."}
    await fill_revision(api, edit, editor)
    assert isinstance(edit["expectedRevision"], int)
    edited = (await run(api, EDIT_SECTION, edit, editor))["updateSection"]
    assert edited["section"]["origin"] == "EDITED" and "neurologist" in edited["section"]["body"]
    assert edited["review"]["status"] == "DRAFT"

    submit = dict(SUBMIT.variables)
    await fill_revision(api, submit, editor)
    assert submit["expectedRevision"] == edited["review"]["revision"]
    submitted = (await run(api, SUBMIT, submit, editor))["submitForReview"]["review"]
    assert submitted["status"] == "IN_REVIEW"
    queue = await run(api, WORK_QUEUE, dict(WORK_QUEUE.variables), editor)
    assert [e["node"]["slug"] for e in queue["inReview"]["edges"]] == [SLUG]

    publish = dict(PUBLISH.variables)
    findings = await run(api, PUBLISH, {"slug": SLUG}, reviewer, op="FindingsToAcknowledge")
    publish["acknowledge"] = [f["id"] for f in findings["review"]["findings"]]
    await fill_revision(api, publish, reviewer)
    published = (await run(api, PUBLISH, publish, reviewer, op="PublishReview"))["publishReview"]
    assert published["review"]["status"] == "PUBLISHED"
    assert published["review"]["publishedAt"] is not None
    page = await run(api, REVIEW_PAGE, dict(REVIEW_PAGE.variables), {})
    bottom = [s for s in page["review"]["sections"] if s["key"] == "BOTTOM_LINE"]
    assert "neurologist" in bottom[0]["body"]

"""Readers get exactly what a medical reviewer approved, facts included, on every path.

An editor changes each kind of fact and creates records; every anonymous read (POST,
cached persisted GET, lists, cursors, search, the change feed, JSON-LD, node) stays
byte-identical and nothing is purged. After a reviewer's approval the new facts
appear and exactly the affected cached entries are purged.
"""

from __future__ import annotations

import base64
import json
import re
import uuid
from typing import Any

import httpx
import pytest

from db.engine import make_engine, session_scope
from db.tokens import create_token
from server.cache.entry import document_hash
from tests.conftest import TEMPLATES, Api
from tests.workflow import approve, edit_fact, graphql

ACCEPT = {"accept": "application/graphql-response+json"}
COMPOUND_FIELDS = """id slug name aliases drugClass safetyProfile regulatoryStatus evidenceLevel
  mechanisms codes { rxnorm mesh } citations { kind value url } revision updatedAt
  hasUnapprovedChanges"""
CONDITION_FIELDS = (
    "id slug name fullName specialist aliases codes { icd10 mesh } revision updatedAt"
)
# Every path a reader can take, as named operations (variables where the path has any).
READS: dict[str, tuple[str, dict[str, Any]]] = {
    "compound": (
        f"query Compound($slug: String!) {{ compound(slug: $slug) {{ {COMPOUND_FIELDS} }} }}",
        {"slug": "ketamine"},
    ),
    "new-compound": (
        'query NewCompound { compound(slug: "zz-unreviewed") { id name } }',
        {},
    ),
    "compounds": (
        "query Compounds { compounds(first: 100) { totalCount edges { cursor node { "
        f"{COMPOUND_FIELDS} }} }} }} }}",
        {},
    ),
    "condition": (
        f'query Condition {{ condition(slug: "als") {{ {CONDITION_FIELDS} }} }}',
        {},
    ),
    "conditions": (
        "query Conditions { conditions(first: 100, orderBy: NAME_ASC) { totalCount edges { "
        f"cursor node {{ {CONDITION_FIELDS} }} }} }} }}",
        {},
    ),
    "review": (
        """query Review($slug: String!) { review(slug: $slug) {
          id slug status revision title research templateVersion isStale hasUnpublishedChanges
          updatedAt publishedAt lastReviewedAt reviewDueAt
          compound { id name drugClass safetyProfile evidenceLevel citations { value } }
          condition { id name fullName specialist }
          evidence { research notes citations { kind value url } revision }
          byline { text notice } faq { question answer }
          seo { title description canonicalPath jsonLd }
          text(format: PLAIN) html: text(format: HTML)
          sections { key heading body(format: MARKDOWN) blocks { __typename } origin } } }""",
        {"slug": "ketamine--als"},
    ),
    "reviews-by-title": (
        "query ByTitle { reviews(first: 100, orderBy: TITLE_ASC) { totalCount pageInfo { "
        "endCursor } edges { cursor node { slug title research revision } } } }",
        {},
    ),
    "reviews-filtered": (
        "query Filtered { specific: reviews(filter: {research: SPECIFIC, compound: "
        '["ketamine"]}) { totalCount edges { node { slug } } } limited: reviews(filter: '
        '{research: LIMITED, condition: ["als"]}) { totalCount } stale: reviews(filter: '
        "{stale: true}) { totalCount } }",
        {},
    ),
    "search": (
        "query Search($q: String!) { search(query: $q, first: 50) { totalCount edges { score "
        "node { __typename ... on Review { slug title } ... on Compound { slug name } "
        "... on Condition { slug name } } } } }",
        {"q": "ketamine als"},
    ),
    "search-unreviewed": (
        'query SearchNew { search(query: "unreviewed") { totalCount edges { node { '
        "__typename ... on Review { slug } ... on Compound { slug } ... on Condition { slug } "
        "} } } }",
        {},
    ),
    "node": (
        "query Nodes($c: ID!, $d: ID!, $r: ID!) { c: node(id: $c) { id ... on Compound { name "
        "safetyProfile } } d: node(id: $d) { ... on Condition { fullName } } r: node(id: $r) "
        "{ ... on Review { title compound { name } evidence { notes } } } }",
        {},  # the ids of ketamine, als and ketamine--als (see `node_ids`)
    ),
    "publisher": (
        "query Publisher { publisher { name advisorName advisorCredentials cta notice revision "
        "updatedAt } }",
        {},
    ),
}
FEED = (
    "query Feed($since: String) { changes(since: $since, first: 100) { cursor hasMore "
    "changes { op entity slug node { __typename ... on Compound { name } ... on Review "
    "{ title } } } } }"
)
UNREVIEWED = "UNREVIEWED"


def tokens(url: str) -> dict[str, str]:
    engine = make_engine(url)
    out = {}
    with session_scope(engine) as session:
        for role in ("editor", "reviewer"):
            out[role], _ = create_token(session, f"{role}-{uuid.uuid4().hex[:6]}", role)
    engine.dispose()
    return out


async def persisted_get(api: Api, query: str, variables: dict[str, Any]) -> httpx.Response:
    """A persisted-query GET (registered with a POST the first time)."""
    extensions = json.dumps({"persistedQuery": {"version": 1, "sha256Hash": document_hash(query)}})
    params = {"extensions": extensions, "variables": json.dumps(variables)}
    response = await api.client.get("/graphql", params=params, headers=ACCEPT)
    if response.status_code == 400:  # PERSISTED_QUERY_NOT_FOUND: register it
        body = {"query": query, "variables": variables, "extensions": json.loads(extensions)}
        await api.client.post("/graphql", json=body, headers=ACCEPT)
        response = await api.client.get("/graphql", params=params, headers=ACCEPT)
    assert response.status_code == 200, response.text
    return response


async def node_ids(api: Api) -> dict[str, str]:
    ids = await api.data(
        'query Ids { compound(slug: "ketamine") { id } condition(slug: "als") { id } '
        'review(slug: "ketamine--als") { id } }'
    )
    return {"c": ids["compound"]["id"], "d": ids["condition"]["id"], "r": ids["review"]["id"]}


def answer(response: httpx.Response) -> bytes:
    """The exact bytes of an answer's data (and errors): its `extensions` (the cost, the
    client's budget) differ from one request to the next."""
    head, cut, _ = response.content.partition(b',"extensions":')
    return head + b"}" if cut else head


async def readers_view(api: Api, since: str | None) -> dict[str, bytes]:
    """Every reader path, by POST and by (cached) persisted GET: the exact bytes."""
    out = {}
    ids = await node_ids(api)
    for name, (query, variables) in READS.items():
        variables = ids if name == "node" else variables
        post = await api.post(query, variables)
        assert post.status_code == 200 and "errors" not in post.json(), post.text
        out[f"POST {name}"] = answer(post)
        out[f"GET {name}"] = answer(await persisted_get(api, query, variables))
    feed = await api.post(FEED, {"since": since})
    out["feed"] = answer(feed)
    return out


async def feed_end(api: Api) -> str:
    since = None
    while True:
        page = (await api.post(FEED, {"since": since})).json()["data"]["changes"]
        since = page["cursor"]
        if not page["hasMore"]:
            return since  # type: ignore[no-any-return]


async def editor_changes_everything(api: Api, editor: str) -> None:
    """Each kind of fact edited, new records created, a template re-versioned: as an editor."""

    async def revision(query: str, *path: str) -> int:
        data = await graphql(api, editor, query, {})
        for key in path:
            data = data[key]
        return data["revision"]  # type: ignore[no-any-return]

    rev = await revision('query { compound(slug: "ketamine") { revision } }', "compound")
    await graphql(
        api,
        editor,
        'mutation U($rev: Int!) { updateCompound(slug: "ketamine", expectedRevision: $rev, '
        'input: {name: "Ketamine UNREVIEWED", safetyProfile: ["UNREVIEWED claim"], '
        'citations: [{pmid: "99999999"}]}) { compound { revision } } }',
        {"rev": rev},
    )
    rev = await revision('query { condition(slug: "als") { revision } }', "condition")
    await graphql(
        api,
        editor,
        'mutation U($rev: Int!) { updateCondition(slug: "als", expectedRevision: $rev, '
        'input: {fullName: "ALS UNREVIEWED", specialist: "UNREVIEWED specialist"}) '
        "{ condition { revision } } }",
        {"rev": rev},
    )
    rev = await revision(
        'query { review(slug: "ketamine--als") { evidence { revision } } }', "review", "evidence"
    )
    await graphql(
        api,
        editor,
        'mutation U($rev: Int!) { updateEvidence(compound: "ketamine", condition: "als", '
        'expectedRevision: $rev, input: {research: SPECIFIC, notes: "UNREVIEWED: pending legal '
        'review, do not publish", citations: [{nct: "NCT09999999"}]}) { evidence { revision } } }',
        {"rev": rev},
    )
    rev = await revision("query { publisher { revision } }", "publisher")
    await graphql(
        api,
        editor,
        "mutation U($rev: Int!) { updatePublisher(expectedRevision: $rev, input: {advisorName: "
        '"Dr. UNREVIEWED"}) { publisher { revision } } }',
        {"rev": rev},
    )
    await graphql(
        api,
        editor,
        'mutation { createCompound(input: {slug: "zz-unreviewed", name: "Unreviewed drug", '
        'drugClass: "UNREVIEWED class", safetyProfile: ["x"], regulatoryStatus: "none", '
        'evidenceLevel: "none", mechanisms: ["x"]}) { compound { slug } } }',
        {},
    )
    await graphql(
        api,
        editor,
        'mutation { createCondition(input: {slug: "zz-unreviewed-condition", name: '
        '"Unreviewed condition", specialist: "x"}) { condition { slug } } }',
        {},
    )
    await graphql(
        api,
        editor,
        'mutation { createEvidence(input: {compound: "zz-unreviewed", condition: "als", '
        "research: LIMITED}) { evidence { revision } } }",
        {},
    )
    # A new template version whose title only drafts have (cursors, search, ordering).
    template = TEMPLATE_TEXT.replace("— Research Review", "— UNREVIEWED Aardvark Review")
    await graphql(
        api,
        editor,
        "mutation I($content: String!) { importCatalog(content: $content) { effect { "
        "affectedReviews } } }",
        {"content": template},
    )
    await graphql(api, editor, "mutation { regenerateStaleReviews(limit: 5000) { refreshed } }", {})


def _template_text() -> str:

    text = TEMPLATES.read_text(encoding="utf-8")
    return re.sub(r'version: "?[0-9.]+"?', 'version: "2099.1.1"', text, count=1)


TEMPLATE_TEXT = _template_text()


@pytest.fixture
def secrets(demo_url: str) -> dict[str, str]:
    return tokens(demo_url)


@pytest.fixture
def purged(api: Api) -> list[list[str]]:
    out: list[list[str]] = []

    async def hook(keys: list[str]) -> None:
        out.append(keys)

    api.app.state.compendium.cache.purge_hooks.append(hook)
    return out


async def test_no_editor_change_reaches_any_reader_path(
    api: Api, secrets: dict[str, str], purged: list[list[str]]
) -> None:
    since = await feed_end(api)
    before = await readers_view(api, since)
    assert b"UNREVIEWED" not in b"".join(before.values())
    await editor_changes_everything(api, secrets["editor"])
    # The editor sees every change (the template's title included) ...
    mine = await graphql(
        api,
        secrets["editor"],
        'query { review(slug: "ketamine--als") { title compound { name } evidence { notes } } }',
        {},
    )
    assert "UNREVIEWED" in json.dumps(mine)
    # ... readers nothing of them, on any path, and no cached answer was purged.
    await api.app.state.compendium.cache.purges.join()
    after = await readers_view(api, since)
    changed = [name for name in before if before[name] != after[name]]
    assert changed == []
    assert purged == []
    # The cached GETs were answered from the cache (the edits invalidated nothing).
    query, variables = READS["review"]
    assert (await persisted_get(api, query, variables)).headers["x-cache"] == "HIT"


async def test_an_approval_makes_exactly_its_facts_public(
    api: Api, secrets: dict[str, str], purged: list[list[str]]
) -> None:
    since = await feed_end(api)
    await editor_changes_everything(api, secrets["editor"])
    before = await readers_view(api, since)
    # A page of the same compound, without the fields that follow later approvals (isStale).
    other_query = (
        "query Other($slug: String!) { review(slug: $slug) { title text(format: PLAIN) "
        "compound { name safetyProfile } seo { jsonLd } } }",
        {"slug": "ketamine--neuropathic-pain"},
    )
    other = await persisted_get(api, *other_query)
    await approve(api, secrets["editor"], secrets["reviewer"], "ketamine--als")
    after = await readers_view(api, since)

    review = json.loads(after["POST review"])["data"]["review"]
    assert review["compound"]["name"] == "Ketamine UNREVIEWED"
    assert review["condition"]["fullName"] == "ALS UNREVIEWED"
    assert review["evidence"]["notes"].startswith("UNREVIEWED")
    assert review["research"] == "SPECIFIC"
    assert "UNREVIEWED Aardvark Review" in review["title"]
    assert "Dr. UNREVIEWED" in review["byline"]["text"]
    about = review["seo"]["jsonLd"]["@graph"][0]["about"]
    assert about[0]["name"] == "Ketamine UNREVIEWED" and about[1]["name"] == "ALS UNREVIEWED"
    compound = json.loads(after["POST compound"])["data"]["compound"]
    assert compound["name"] == "Ketamine UNREVIEWED" and compound["revision"] == 2
    publisher = json.loads(after["POST publisher"])["data"]["publisher"]
    assert publisher["advisorName"] == "Dr. UNREVIEWED"
    feed = json.loads(after["feed"])["data"]["changes"]["changes"]
    assert [(c["entity"], c["slug"], c["op"]) for c in feed] == [
        ("COMPOUND", "ketamine", "UPSERT"),
        ("CONDITION", "als", "UPSERT"),
        ("REVIEW", "ketamine--als", "UPSERT"),
    ]
    # Records never approved stay invisible; the other pages keep what was approved with them.
    assert json.loads(after["POST new-compound"])["data"]["compound"] is None
    found = json.loads(after["POST search-unreviewed"])["data"]["search"]["edges"]
    assert {e["node"]["slug"] for e in found} == {"ketamine", "als", "ketamine--als"}
    again = await persisted_get(api, *other_query)
    assert again.headers["x-cache"] == "HIT" and answer(again) == answer(other)
    assert "Ketamine UNREVIEWED" not in again.text

    # One purge, of exactly the approved records and the lists they are in.
    await api.app.state.compendium.cache.purges.join()
    assert len(purged) == 1
    ids = await graphql(
        api,
        secrets["editor"],
        'query { review(slug: "ketamine--als") { id compound { id } condition { id } } }',
        {},
    )
    assert set(purged[0]) == {
        f"review:{_pk(ids['review']['id'])}",
        f"compound:{_pk(ids['review']['compound']['id'])}",
        f"condition:{_pk(ids['review']['condition']['id'])}",
        *[k for k in purged[0] if k.startswith("evidence:")],
        "publisher",
        "list:reviews",
        "list:compounds",
        "list:conditions",
        "list:search",
        "changes",
    }
    assert len([k for k in purged[0] if k.startswith("evidence:")]) == 1
    # Every answer that changed contains one of those records; the rest are byte-identical.
    assert {name.split(" ", 1)[-1] for name in before if before[name] != after[name]} == {
        "compound",
        "compounds",
        "condition",
        "conditions",
        "review",
        "reviews-filtered",
        "search",
        "search-unreviewed",
        "node",
        "publisher",
        "feed",
    }


def _pk(global_id: str) -> int:

    raw = base64.urlsafe_b64decode(global_id + "=" * (-len(global_id) % 4)).decode()
    return int(raw.split(":")[1])


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

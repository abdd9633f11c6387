"""Every path a reader reads by (POST, cached persisted GET, lists, cursors, search, the
change feed, JSON-LD, node), and an editor who changes every kind of fact."""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

import httpx

from db.engine import make_engine, session_scope
from db.tokens import create_token
from server.cache.entry import document_hash
from tests.conftest import TEMPLATES, Api
from tests.workflow import graphql

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

"""Property: whatever editors and reviewers do, in any order, readers get exactly what the
last approvals say, and nothing unapproved is reachable.

Random interleavings of fact edits (compound, condition, evidence, publisher), section
edits, regeneration, submits, publishes, unpublishes, archives and restores run through
real HTTP; a model records what each successful publish approved (the working copy the
reviewer saw, facts included). After every step, the anonymous view of the reviews, the
compounds, the conditions and the publisher equals the model.
"""

from __future__ import annotations

import itertools
import uuid
from typing import Any

import pytest
from hypothesis import event, given, note
from hypothesis import strategies as st

from db.engine import make_engine, session_scope
from db.tokens import create_token
from tests.conftest import Api
from tests.server.fuzz.settings import fuzz

REVIEWS = ["ketamine--als", "ketamine--neuropathic-pain", "lithium--als"]
COMPOUNDS = ["ketamine", "lithium"]
CONDITIONS = ["als", "neuropathic-pain"]
REVIEW_FIELDS = """title research text(format: PLAIN) byline { text }
  compound { name evidenceLevel safetyProfile citations { value } }
  condition { name fullName specialist } evidence { research notes }"""
VIEW = f"""query View {{
  {" ".join(f'r{i}: review(slug: "{s}") {{ {REVIEW_FIELDS} }}' for i, s in enumerate(REVIEWS))}
  {" ".join(f'c{i}: compound(slug: "{s}") {{ name evidenceLevel safetyProfile }}' for i, s in enumerate(COMPOUNDS))}
  {" ".join(f'd{i}: condition(slug: "{s}") {{ name fullName specialist }}' for i, s in enumerate(CONDITIONS))}
  listed: compounds(filter: {{slugs: ["ketamine", "lithium"]}}, orderBy: SLUG_ASC) {{
    edges {{ node {{ slug name }} }} }}
  publisher {{ advisorName cta }}
}}"""
STATE = "query S($slug: String!) { review(slug: $slug) { status revision section(key: INTRO) { revision } evidence { revision } } }"
FACT_REV = {
    "compound": "query R($slug: String!) { record: compound(slug: $slug) { revision } }",
    "condition": "query R($slug: String!) { record: condition(slug: $slug) { revision } }",
}
MUTATIONS = {
    "compound": "mutation M($slug: String!, $rev: Int!, $marker: String!) { updateCompound("
    "slug: $slug, expectedRevision: $rev, input: {evidenceLevel: $marker}) { compound { slug } } }",
    "condition": "mutation M($slug: String!, $rev: Int!, $marker: String!) { updateCondition("
    "slug: $slug, expectedRevision: $rev, input: {specialist: $marker}) { condition { slug } } }",
    "evidence": "mutation M($c: String!, $d: String!, $rev: Int!, $marker: String!) { "
    "updateEvidence(compound: $c, condition: $d, expectedRevision: $rev, input: {notes: $marker}) "
    "{ evidence { revision } } }",
    "publisher": "mutation M($rev: Int!, $marker: String!) { updatePublisher(expectedRevision: "
    "$rev, input: {cta: $marker}) { publisher { revision } } }",
    "section": "mutation M($slug: String!, $rev: Int!, $marker: String!) { updateSection(review: "
    "$slug, key: INTRO, expectedRevision: $rev, body: $marker) { review { revision } } }",
    "generate": "mutation M($c: String!, $d: String!) { generateReview(compound: $c, condition: "
    "$d) { review { revision } } }",
    "submit": "mutation M($slug: String!, $rev: Int!) { submitForReview(review: $slug, "
    "expectedRevision: $rev) { review { status } } }",
    "publish": "mutation M($slug: String!, $rev: Int!) { publishReview(review: $slug, "
    "expectedRevision: $rev) { review { status } } }",
    "unpublish": "mutation M($slug: String!, $rev: Int!) { unpublishReview(review: $slug, "
    "expectedRevision: $rev) { review { status } } }",
    "archive": "mutation M($slug: String!, $rev: Int!) { archiveReview(review: $slug, "
    "expectedRevision: $rev) { review { status } } }",
    "restore": "mutation M($slug: String!, $rev: Int!) { restoreReview(review: $slug, "
    "expectedRevision: $rev) { review { status } } }",
}
EDITOR_REVIEW = f"query E($slug: String!) {{ review(slug: $slug) {{ {REVIEW_FIELDS} }} }}"
EDITOR_FACTS = """query F($c: String!, $d: String!) {
  compound(slug: $c) { name evidenceLevel safetyProfile }
  condition(slug: $d) { name fullName specialist }
  publisher { advisorName cta }
}"""
ACTIONS = [
    "compound",
    "condition",
    "evidence",
    "publisher",
    "section",
    "generate",
    "submit",
    "publish",
    "publish",  # (twice as likely: approvals are what the property is about)
    "unpublish",
    "archive",
    "restore",
]
# Each step: an action on one review (or its facts), then, half the time, an approval of
# one of the reviews (submitted if needed): edits followed by approvals are the interesting
# interleavings, and they are rare in uniform sequences.
STEPS = st.lists(
    st.tuples(
        st.sampled_from(ACTIONS),
        st.integers(0, len(REVIEWS) - 1),
        # None: no approval; -1: the same review; else that review.
        st.sampled_from([None, None, -1, -1, *range(len(REVIEWS))]),
    ),
    min_size=3,
    max_size=8,
)


class Session:
    """An editor and a reviewer on one app, and the model of what readers must get."""

    def __init__(self, api: Api, editor: str, reviewer: str):
        self.api = api
        self.editor = editor
        self.reviewer = reviewer
        self.markers = itertools.count(1)
        self.model: dict[str, Any] = {}

    async def call(self, token: str | None, query: str, variables: dict[str, Any]) -> Any:
        headers = {"authorization": f"Bearer {token}"} if token else {}
        response = await self.api.post(query, variables, headers=headers)
        assert response.status_code == 200, response.text
        payload = response.json()
        for error in payload.get("errors") or []:
            # Refusals are part of the game (a publish of a draft, a stale submit...);
            # anything else is a bug.
            assert error["extensions"]["code"] in ("BAD_USER_INPUT", "CONFLICT", "FORBIDDEN"), (
                payload
            )
        return payload

    async def reader_view(self) -> dict[str, Any]:
        payload = await self.call(None, VIEW, {})
        assert "errors" not in payload, payload
        return payload["data"]  # type: ignore[no-any-return]

    async def step(self, action: str, index: int) -> None:
        slug = REVIEWS[index]
        compound, condition = slug.split("--")
        marker = f"Marker {next(self.markers)} {uuid.uuid4().hex[:6]}"
        state = (await self.call(self.editor, STATE, {"slug": slug}))["data"]["review"]
        if action in ("compound", "condition"):
            record = compound if action == "compound" else condition
            rev = (await self.call(self.editor, FACT_REV[action], {"slug": record}))["data"]
            await self.call(
                self.editor,
                MUTATIONS[action],
                {"slug": record, "rev": rev["record"]["revision"], "marker": marker},
            )
        elif action == "evidence":
            await self.call(
                self.editor,
                MUTATIONS[action],
                {
                    "c": compound,
                    "d": condition,
                    "rev": state["evidence"]["revision"],
                    "marker": marker,
                },
            )
        elif action == "publisher":
            rev = (await self.call(self.editor, "query P { publisher { revision } }", {}))["data"]
            await self.call(
                self.editor,
                MUTATIONS[action],
                {"rev": rev["publisher"]["revision"], "marker": marker},
            )
        elif action == "section":
            await self.call(
                self.editor,
                MUTATIONS[action],
                {"slug": slug, "rev": state["section"]["revision"], "marker": marker},
            )
        elif action == "generate":
            await self.call(self.editor, MUTATIONS[action], {"c": compound, "d": condition})
        elif action == "publish":
            revision = state["revision"]
            if state["status"] == "DRAFT":  # an editor submits, then the reviewer decides
                submitted = await self.call(
                    self.editor, MUTATIONS["submit"], {"slug": slug, "rev": revision}
                )
                if "errors" not in submitted:
                    state = (await self.call(self.editor, STATE, {"slug": slug}))["data"]["review"]
                    revision = state["revision"]
            await self.publish(slug, revision)
        else:
            token = self.editor
            payload = await self.call(
                token, MUTATIONS[action], {"slug": slug, "rev": state["revision"]}
            )
            if action in ("unpublish", "archive") and "errors" not in payload:
                self.model[f"review {slug}"] = None

    async def publish(self, slug: str, revision: int) -> None:
        compound, condition = slug.split("--")
        # What the reviewer sees in the working copy is what readers will get.
        seen = (await self.call(self.editor, EDITOR_REVIEW, {"slug": slug}))["data"]["review"]
        facts = (await self.call(self.editor, EDITOR_FACTS, {"c": compound, "d": condition}))[
            "data"
        ]
        payload = await self.call(
            self.reviewer, MUTATIONS["publish"], {"slug": slug, "rev": revision}
        )
        if "errors" in payload:
            event(f"publish refused: {payload['errors'][0]['extensions'].get('reason')}")
            return
        event("published")
        self.model[f"review {slug}"] = seen
        self.model[f"compound {compound}"] = facts["compound"]
        self.model[f"condition {condition}"] = facts["condition"]
        self.model["publisher"] = facts["publisher"]

    def expected(self, view: dict[str, Any]) -> dict[str, Any]:
        """The reader's view as the model says it must be."""
        out = dict(view)
        for i, slug in enumerate(REVIEWS):
            out[f"r{i}"] = self.model[f"review {slug}"]
        for i, slug in enumerate(COMPOUNDS):
            out[f"c{i}"] = self.model[f"compound {slug}"]
        for i, slug in enumerate(CONDITIONS):
            out[f"d{i}"] = self.model[f"condition {slug}"]
        out["listed"] = {
            "edges": [
                {"node": {"slug": slug, "name": self.model[f"compound {slug}"]["name"]}}
                for slug in COMPOUNDS
            ]
        }
        out["publisher"] = self.model["publisher"]
        return out

    async def start(self) -> None:
        """The model starts from what readers get now (every earlier step was checked)."""
        view = await self.reader_view()
        for i, slug in enumerate(REVIEWS):
            self.model[f"review {slug}"] = view[f"r{i}"]
        for i, slug in enumerate(COMPOUNDS):
            self.model[f"compound {slug}"] = view[f"c{i}"]
        for i, slug in enumerate(CONDITIONS):
            self.model[f"condition {slug}"] = view[f"d{i}"]
        self.model["publisher"] = view["publisher"]


@pytest.fixture
async def session(make_api: Any, demo_url: str) -> Session:
    engine = make_engine(demo_url)
    with session_scope(engine) as db:
        editor, _ = create_token(db, "editor-prop", "editor")
        reviewer, _ = create_token(db, "reviewer-prop", "reviewer")
    engine.dispose()
    # A small inline regeneration limit: publisher edits leave most drafts stale, so the
    # gate's refusals and explicit regeneration are part of the interleavings too.
    api: Api = await make_api(
        inline_regeneration_limit=40,
        response_cache=True,
        # Hundreds of requests a minute from one client: not what this test is about.
        rate_limit_anonymous=1_000_000,
        rate_limit_authenticated=1_000_000,
    )
    return Session(api, editor, reviewer)


@fuzz(20)
@given(steps=STEPS)
async def test_readers_get_what_the_last_approvals_say(
    session: Session, steps: list[tuple[str, int, int | None]]
) -> None:
    await session.start()
    for action, index, approve in steps:
        approve = index if approve == -1 else approve
        for act, i in ((action, index), ("publish", approve)):
            if i is None:
                continue
            note(f"{act} {REVIEWS[i]}")
            await session.step(act, i)
            view = await session.reader_view()
            assert view == session.expected(view), (act, REVIEWS[i])

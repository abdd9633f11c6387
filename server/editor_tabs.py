"""The tabs GraphiQL opens with: one per editorial job, each with variables to fill.

The one place they are defined: server/graphiql.py hands them to the page as JSON
(``graphiql-config``), web/graphiql.jsx opens one GraphiQL tab each, and
tests/server/test_editor_tabs.py validates every document against the schema, so a
schema change that breaks a tab fails a test.

Every tab names its review ``$slug`` (what the toolbar's Preview and "Fill
expectedRevision" controls read from the variables). The workflow tabs take an
``expectedRevision``: the toolbar's "Fill expectedRevision" control looks it up for the
slug in the variables (the section's revision when the variables name a section
``key``, else the review's) and writes it in, so nobody has to query it first.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

# What "Fill expectedRevision" asks (with the tab's headers) for the slug in the variables.
REVISION_QUERY = (
    "query ExpectedRevision($slug: String!) "
    "{ review(slug: $slug) { revision sections { key revision } } }"
)

# Editors paste their token here (the page query runs without one).
EDITOR_HEADERS = '{\n  "Authorization": "Bearer <editor token>"\n}'


@dataclass(frozen=True)
class Tab:
    """One GraphiQL tab: its document, its variables and headers (JSON text)."""

    name: str  # the operation's name, which GraphiQL shows as the tab's title
    query: str
    variables: dict[str, Any]
    editor: bool = True  # needs an editor token (the headers start from EDITOR_HEADERS)

    def as_config(self) -> dict[str, str]:
        return {
            "name": self.name,
            "query": self.query,
            "variables": json.dumps(self.variables, indent=2, ensure_ascii=False),
            "headers": EDITOR_HEADERS if self.editor else "",
        }


REVIEW_PAGE = Tab(
    "ReviewPage",
    """\
# Welcome to Compendium. Run this query with the ▶
# button (or Ctrl-Enter). The other tabs hold the
# editorial jobs: put your editor token in their
# Headers.
query ReviewPage($slug: String!) {
  review(slug: $slug) {
    title
    status
    byline { text }
    sections { key heading body(format: MARKDOWN) }
    faq { question answer }
    seo { title description canonicalPath }
  }
}
""",
    {"slug": "ketamine--als"},
    editor=False,
)

WORK_QUEUE = Tab(
    "WorkQueue",
    """\
# The editors' work queue (editor token in the Headers).
# The same lists, with links to the previews: /preview/
query WorkQueue($first: Int! = 20) {
  stale: reviews(
    first: $first
    filter: { stale: true }
  ) {
    totalCount
    edges { node { slug title status revision } }
  }
  overdue: reviews(
    first: $first
    filter: { overdue: true }
  ) {
    totalCount
    edges { node { slug title revision reviewDueAt } }
  }
  inReview: reviews(
    first: $first
    filter: { status: [IN_REVIEW] }
  ) {
    totalCount
    edges { node { slug title revision updatedAt } }
  }
  pendingCompounds: compounds(
    first: $first
    filter: { hasUnapprovedChanges: true }
  ) {
    totalCount
    edges { node { slug name revision } }
  }
  pendingConditions: conditions(
    first: $first
    filter: { hasUnapprovedChanges: true }
  ) {
    totalCount
    edges { node { slug name revision } }
  }
}
""",
    {"first": 20},
)

EDIT_SECTION = Tab(
    "EditSection",
    """\
# Replace a section's text (editor token in the
# Headers). Fill slug, key and body, press the toolbar's
# "Fill expectedRevision" button (it looks up the
# section's revision and writes it in), then run.
mutation EditSection(
  $slug: String!
  $key: SectionKey!
  $expectedRevision: Int!
  $body: String!
  $heading: String
) {
  updateSection(
    review: $slug
    key: $key
    expectedRevision: $expectedRevision
    body: $body
    heading: $heading
  ) {
    section {
      key heading origin revision
      body(format: MARKDOWN)
    }
    review { slug status revision }
  }
}
""",
    {
        "slug": "ketamine--als",
        "key": "BOTTOM_LINE",
        "expectedRevision": None,
        "body": "New text. A blank line starts a paragraph.",
    },
)

SUBMIT = Tab(
    "SubmitForReview",
    """\
# Send a DRAFT to medical review (editor token).
# Fill slug, press "Fill expectedRevision", then run.
mutation SubmitForReview(
  $slug: String!
  $expectedRevision: Int!
) {
  submitForReview(
    review: $slug
    expectedRevision: $expectedRevision
  ) {
    review { slug status revision }
  }
}
""",
    {"slug": "ketamine--als", "expectedRevision": None},
)

PUBLISH = Tab(
    "PublishReview",
    """\
# Publish a review IN_REVIEW (reviewer token). Edited
# text may hold content findings to acknowledge first:
# 1. cursor in FindingsToAcknowledge (below), run it;
# 2. put the ids you acknowledge in "acknowledge";
# 3. press "Fill expectedRevision";
# 4. cursor back in PublishReview, run it.
mutation PublishReview(
  $slug: String!
  $expectedRevision: Int!
  $acknowledge: [String!]
) {
  publishReview(
    review: $slug
    expectedRevision: $expectedRevision
    acknowledge: $acknowledge
  ) {
    review { slug status revision publishedAt }
    findings { id rule section excerpt }
  }
}

query FindingsToAcknowledge($slug: String!) {
  review(slug: $slug) {
    slug
    status
    revision
    findings { id rule section excerpt message }
  }
}
""",
    {"slug": "ketamine--als", "expectedRevision": None, "acknowledge": []},
)

# After the first tab (the page's default query, REVIEW_PAGE unless the page is given another).
EDITORIAL_TABS: tuple[Tab, ...] = (WORK_QUEUE, EDIT_SECTION, SUBMIT, PUBLISH)
TABS: tuple[Tab, ...] = (REVIEW_PAGE, *EDITORIAL_TABS)


def editorial_tabs_config() -> list[dict[str, str]]:
    """The editorial tabs as the GraphiQL page gets them (JSON-ready)."""
    return [tab.as_config() for tab in EDITORIAL_TABS]

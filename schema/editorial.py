"""Editorial types: evidence, publisher, revisions, diffs, findings, tokens and the audit log."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Annotated, Any, cast

import strawberry
from strawberry.scalars import JSON

from content import claims, document
from resolvers import catalog as rc
from resolvers import graph as rg
from resolvers import revisions as rv
from resolvers.admin import ApiTokenRow, AuditRow
from resolvers.records import EvidenceRecord, PublisherRecord
from resolvers.relay import to_global_id
from schema.catalog import (
    APPROVED,
    LAZY_REVIEW,
    Compound,
    Condition,
    ReviewType,
    _citation,
    revision_field,
    unapproved_field,
    updated_at_field,
)
from schema.common import Citation, Node, Research, SectionKey, TextFormat

FormatArg = Annotated[TextFormat, strawberry.argument(description="Output format.")]


@strawberry.type(
    description="What is known about one compound in one condition (fetchable with `node`: "
    "readers get its approved copy, editors the working copy)."
)
class Evidence(Node):
    record: strawberry.Private[EvidenceRecord]

    @strawberry.field(description="Global id.")
    def id(self) -> strawberry.ID:
        return strawberry.ID(to_global_id("Evidence", self.record.id))

    @strawberry.field(description="The compound.")
    async def compound(self, info: strawberry.Info) -> Compound:
        record = await rc.evidence_compound(info.context, self.record)
        assert record is not None  # evidence is approved with (and deleted with) its compound
        return Compound(record=record)

    @strawberry.field(description="The condition.")
    async def condition(self, info: strawberry.Info) -> Condition:
        record = await rc.evidence_condition(info.context, self.record)
        assert record is not None
        return Condition(record=record)

    @strawberry.field(description="How much condition-specific research exists.")
    def research(self) -> Research:
        return Research(self.record.research)

    @strawberry.field(description="Editorial notes on the evidence.")
    def notes(self) -> str:
        return self.record.notes

    @strawberry.field(
        description="The pair's safety review: for readers, its published revision (null "
        "while none is published); for editors, the working copy (null before generation)."
    )
    async def review(self, info: strawberry.Info) -> ReviewType | None:
        found = await rg.evidence_review(info.context, self.record)
        return LAZY_REVIEW.resolve_type()(source=found) if found is not None else None

    @strawberry.field(description="References for this pair.")
    async def citations(self, info: strawberry.Info) -> list[Citation]:
        return [_citation(c) for c in await rc.evidence_citations(info.context, self.record)]

    revision = revision_field()

    updated_at = updated_at_field()

    @strawberry.field(description=APPROVED)
    async def approved(self, info: strawberry.Info) -> Evidence | None:
        record = await rc.approved_of(info.context, self.record)
        return Evidence(record=record) if record is not None else None

    has_unapproved_changes = unapproved_field()


@strawberry.type(description="The organisation and medical advisor named in every byline.")
class Publisher:
    record: strawberry.Private[PublisherRecord]

    @strawberry.field(description="Organisation name.")
    def name(self) -> str:
        return self.record.name

    @strawberry.field(description="Medical advisor's name.")
    def advisor_name(self) -> str:
        return self.record.advisor_name

    @strawberry.field(description='Medical advisor\'s credentials, e.g. "MD".')
    def advisor_credentials(self) -> str:
        return self.record.advisor_credentials

    @strawberry.field(description="Call to action shown at the end of every page.")
    def cta(self) -> str:
        return self.record.cta

    @strawberry.field(description="A notice shown under every byline (e.g. demo content).")
    def notice(self) -> str:
        return self.record.notice

    revision = revision_field()

    updated_at = updated_at_field()

    @strawberry.field(description=APPROVED)
    async def approved(self, info: strawberry.Info) -> Publisher | None:
        record = await rc.approved_of(info.context, self.record)
        return Publisher(record=record) if record is not None else None

    has_unapproved_changes = unapproved_field()


@strawberry.enum(description="Rules of the publish gate's content check.")
class FindingRule(enum.Enum):
    ABSOLUTE_CLAIM = strawberry.enum_value(
        "ABSOLUTE_CLAIM", description=claims.RULE_DESCRIPTIONS["ABSOLUTE_CLAIM"]
    )
    DOSING = strawberry.enum_value("DOSING", description=claims.RULE_DESCRIPTIONS["DOSING"])


@strawberry.type(
    description="Something in an editor's text that a reviewer must acknowledge before publishing."
)
class ContentFinding:
    id: str = strawberry.field(description="Stable id; pass it in `publishReview(acknowledge:)`.")
    rule: FindingRule = strawberry.field(description="Which rule found it.")
    section: SectionKey = strawberry.field(description="The section it is in.")
    excerpt: str = strawberry.field(description="The words found, in context.")
    message: str = strawberry.field(description="Why it matters.")

    @staticmethod
    def of(f: claims.Finding | dict[str, Any]) -> ContentFinding:
        if isinstance(f, dict):
            f = claims.Finding(
                f["id"],
                f["rule"],
                f["section"],
                f["excerpt"],
                claims.RULE_DESCRIPTIONS[f["rule"]],
            )
        return ContentFinding(
            id=f.id,
            rule=FindingRule(f.rule),
            section=SectionKey(f.section),
            excerpt=f.excerpt,
            message=f.message,
        )


@strawberry.enum(description="How a section changed between two versions.")
class SectionChange(enum.Enum):
    ADDED = strawberry.enum_value("ADDED", description="Only in the newer version.")
    REMOVED = strawberry.enum_value("REMOVED", description="Only in the older version.")
    CHANGED = strawberry.enum_value("CHANGED", description="In both, with different content.")
    UNCHANGED = strawberry.enum_value("UNCHANGED", description="The same in both.")


@strawberry.type(description="One section compared between two versions of a review.")
class SectionDiff:
    d: strawberry.Private[rv.SectionDiff]

    @strawberry.field(description="The section.")
    def key(self) -> SectionKey:
        return SectionKey(self.d.key)

    @strawberry.field(description="What changed.")
    def change(self) -> SectionChange:
        return SectionChange(self.d.change)

    @strawberry.field(description="The older section's text (null when added).")
    def before(self, format: FormatArg = TextFormat.PLAIN) -> str | None:
        s = self.d.before
        return document.render_body(s.blocks, format.name) if s is not None else None

    @strawberry.field(description="The newer section's text (null when removed).")
    def after(self, format: FormatArg = TextFormat.PLAIN) -> str | None:
        s = self.d.after
        return document.render_body(s.blocks, format.name) if s is not None else None

    @strawberry.field(description="A unified diff of the section's lines (heading included).")
    def unified_diff(self) -> str:
        return self.d.unified()


@strawberry.type(description="An immutable snapshot of exactly what a medical reviewer approved.")
class ReviewRevision:
    row: strawberry.Private[rv.RevisionRow]

    @strawberry.field(description="Revision number, from 1.")
    def number(self) -> int:
        return self.row.number

    @strawberry.field(description="The page title approved.")
    def title(self) -> str:
        return self.row.title

    @strawberry.field(description="Name of the reviewer's token that approved it.")
    def approved_by(self) -> str:
        return self.row.approved_by

    @strawberry.field(
        description="The locale of the page approved (a BCP 47 tag): each locale's page is "
        "signed off on its own."
    )
    def locale(self) -> str:
        return self.row.locale

    @strawberry.field(description="When it was approved and published.")
    def approved_at(self) -> datetime:
        return self.row.approved_at

    @strawberry.field(description="Template version the approved text was generated from.")
    def template_version(self) -> str:
        return self.row.template_version

    @strawberry.field(description="Content findings the reviewer acknowledged when approving.")
    def acknowledged_findings(self) -> list[ContentFinding]:
        return [ContentFinding.of(f) for f in self.row.acknowledged or []]

    @strawberry.field(description="The approved page, in the requested format.")
    def text(self, format: FormatArg = TextFormat.MARKDOWN) -> str:
        page = document.Page(
            self.row.title,
            self.row.byline,
            self.row.notice,
            rv.revision_sections(self.row),
            self.row.description,
        )
        return document.render_page(page, format.name)


@strawberry.enum(description="What an API token may do.")
class Role(enum.Enum):
    EDITOR = strawberry.enum_value(
        "EDITOR", description="Preview drafts, change facts and text, submit for review."
    )
    REVIEWER = strawberry.enum_value(
        "REVIEWER", description="Everything an editor may do, plus approve and publish."
    )
    ADMIN = strawberry.enum_value(
        "ADMIN", description="Everything an editor may do, plus tokens and the audit log."
    )


@strawberry.type(description="An API token (its secret is shown only once, when created).")
class ApiToken:
    row: strawberry.Private[ApiTokenRow]

    @strawberry.field(description="Unique name; recorded as the actor in the audit log.")
    def name(self) -> str:
        return self.row.name

    @strawberry.field(description="What the token may do.")
    def role(self) -> Role:
        return Role(str(self.row.role))

    @strawberry.field(description="The first characters of the secret, to tell tokens apart.")
    def prefix(self) -> str:
        return self.row.prefix

    @strawberry.field(description="When it was created.")
    def created_at(self) -> datetime:
        return self.row.created_at

    @strawberry.field(description="When it was revoked; null while active.")
    def revoked_at(self) -> datetime | None:
        return self.row.revoked_at


@strawberry.type(description="One change recorded in the audit log.")
class AuditEntry:
    row: strawberry.Private[AuditRow]

    @strawberry.field(description="Global id of the entry.")
    def id(self) -> strawberry.ID:
        return strawberry.ID(to_global_id("AuditEntry", self.row.id))

    @strawberry.field(description="When it happened.")
    def at(self) -> datetime:
        return self.row.at

    @strawberry.field(description="Name of the token that did it.")
    def actor(self) -> str:
        return self.row.actor

    @strawberry.field(description="The token's role at the time.")
    def role(self) -> str:
        return self.row.role

    @strawberry.field(description='The mutation, e.g. "publishReview".')
    def action(self) -> str:
        return self.row.action

    @strawberry.field(description='Type of the record changed, e.g. "Review".')
    def record_type(self) -> str:
        return self.row.record_type

    @strawberry.field(description="Slug or key of the record changed.")
    def record_key(self) -> str | None:
        return self.row.record_key

    @strawberry.field(description="The record's revision before the change.")
    def before_revision(self) -> int | None:
        return self.row.before_revision

    @strawberry.field(description="The record's revision after the change.")
    def after_revision(self) -> int | None:
        return self.row.after_revision

    @strawberry.field(description="Details: changed fields, reasons, acknowledged findings.")
    def detail(self) -> JSON:
        return cast(JSON, self.row.detail)

    @strawberry.field(description="The request id (also in the X-Request-Id response header).")
    def request_id(self) -> str | None:
        return self.row.request_id

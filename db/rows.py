"""What the rows db/ returns look like to their readers (typing only).

The SQL of db/ selects from the Core tables (``db.tables``) and returns SQLAlchemy rows,
read by attribute. These protocols name the attributes a caller may read, so code
outside db/ types a row instead of taking ``Any``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol


class ReviewRow(Protocol):
    """A row of ``review`` (the working copy)."""

    id: int
    slug: str
    kind: str
    locale: str
    source_revision_id: int | None
    status: str
    compound_id: int
    condition_id: int
    title: str
    fingerprint: str
    current_fingerprint: str
    research: str
    revision: int
    published_revision_id: int | None
    restored_from: int | None


class SectionRow(Protocol):
    """A row of ``review_section`` (the working copy's sections)."""

    id: int
    review_id: int
    key: str
    position: int
    heading: str | None
    blocks: list[dict[str, Any]]
    origin: str
    revision: int


class RevisionRow(Protocol):
    """A row of ``review_revision``: exactly what a reviewer approved (immutable)."""

    id: int
    review_id: int
    number: int
    locale: str
    source_revision_id: int | None
    title: str
    byline: str
    notice: str
    description: str
    sections: list[dict[str, Any]]
    template_version: str
    fingerprint: str
    research: str | None
    approved_by: str
    approved_at: datetime
    acknowledged: list[dict[str, Any]] | None


class ApiTokenRow(Protocol):
    """A row of ``api_token`` (the secret's hash is never read outside db/)."""

    id: int
    name: str
    role: str
    prefix: str
    created_at: datetime
    revoked_at: datetime | None


class WebhookSubscriptionRow(Protocol):
    """A row of ``webhook_subscription`` as read outside db/: without its secret."""

    id: int
    url: str
    events: list[str]
    compounds: list[str]
    conditions: list[str]
    created_by: str
    created_at: datetime


class AuditRow(Protocol):
    """A row of ``audit_log``."""

    id: int
    at: datetime
    actor: str
    role: str
    action: str
    record_type: str
    record_id: int | None
    record_key: str | None
    before_revision: int | None
    after_revision: int | None
    detail: dict[str, Any]
    request_id: str | None

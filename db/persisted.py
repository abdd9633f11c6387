"""Trusted documents: GraphQL documents registered by operators (`compendium persisted`)."""

from __future__ import annotations

import hashlib
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from db.engine import key_lookup
from db.models import utcnow
from db.tables import PERSISTED_DOCUMENT


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def add_document(session: Session, text: str, name: str) -> tuple[str, bool]:
    """Register a document; returns its hash and whether it was new (adding twice is a no-op)."""
    digest = sha256(text)
    dialect = session.get_bind().dialect.name
    insert = (postgresql if dialect == "postgresql" else sqlite).insert
    inserted = session.execute(
        insert(PERSISTED_DOCUMENT)
        .values(sha256=digest, document=text, name=name, created_at=utcnow())
        .on_conflict_do_nothing(index_elements=["sha256"])
        .returning(PERSISTED_DOCUMENT.c.sha256)
    ).scalar()
    return digest, inserted is not None


@key_lookup
def document_by_hash(session: Session, digest: str) -> str | None:
    return session.execute(
        select(PERSISTED_DOCUMENT.c.document).where(PERSISTED_DOCUMENT.c.sha256 == digest)
    ).scalar()


def list_documents(session: Session) -> list[Any]:
    return list(
        session.execute(
            select(
                PERSISTED_DOCUMENT.c.sha256,
                PERSISTED_DOCUMENT.c.name,
                PERSISTED_DOCUMENT.c.created_at,
            ).order_by(PERSISTED_DOCUMENT.c.name)
        )
    )

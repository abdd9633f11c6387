"""API tokens: random secrets shown once; only their SHA-256 is stored.

A token is 32 random bytes (URL-safe base64) behind a ``cmp_`` prefix, so an
unsalted hash is safe to store and lets a request find its token with one
indexed lookup.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from db.engine import key_lookup
from db.models import utcnow
from db.operations import Role
from db.tables import API_TOKEN

PREFIX = "cmp_"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True, slots=True)
class TokenIdentity:
    id: int
    name: str
    role: Role


class TokenNameTaken(ValueError):
    pass


def create_token(session: Session, name: str, role: Role | str) -> tuple[str, Any]:
    """Store a new token; returns the secret (never stored) and its row."""
    secret = PREFIX + secrets.token_urlsafe(32)
    row = {
        "name": name,
        "role": Role(str(role).upper()),
        "token_hash": hash_token(secret),
        "prefix": secret[:12],
        "created_at": utcnow(),
    }
    try:
        with session.begin_nested():
            session.execute(API_TOKEN.insert().values(**row))
    except IntegrityError:
        raise TokenNameTaken(f"a token named '{name}' exists already") from None
    return secret, token_by_name(session, name)


def token_by_name(session: Session, name: str) -> Any:
    return session.execute(select(API_TOKEN).where(API_TOKEN.c.name == name)).first()


def list_tokens(session: Session, include_revoked: bool = True) -> list[Any]:
    q = select(API_TOKEN).order_by(API_TOKEN.c.created_at, API_TOKEN.c.id)
    if not include_revoked:
        q = q.where(API_TOKEN.c.revoked_at.is_(None))
    return list(session.execute(q))


def revoke_token(session: Session, name: str) -> bool:
    """Revoke by name; False when there is no such active token."""
    result = session.execute(
        update(API_TOKEN)
        .where(API_TOKEN.c.name == name, API_TOKEN.c.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


@key_lookup
def identify(session: Session, token: str) -> TokenIdentity | None:
    """The active token with this secret, or None (unknown or revoked)."""
    if not token.startswith(PREFIX) or len(token) > 200:
        return None
    row = session.execute(
        select(API_TOKEN.c.id, API_TOKEN.c.name, API_TOKEN.c.role).where(
            API_TOKEN.c.token_hash == hash_token(token), API_TOKEN.c.revoked_at.is_(None)
        )
    ).first()
    if row is None:
        return None
    return TokenIdentity(row.id, row.name, Role(str(row.role)))


@key_lookup
def active_token(session: Session, token_id: int) -> tuple[TokenIdentity, str] | None:
    """The active token with this id and its stored hash, or None (unknown or revoked).
    Preview sessions name their token by id and are signed with its hash."""
    row = session.execute(
        select(API_TOKEN.c.id, API_TOKEN.c.name, API_TOKEN.c.role, API_TOKEN.c.token_hash).where(
            API_TOKEN.c.id == token_id, API_TOKEN.c.revoked_at.is_(None)
        )
    ).first()
    if row is None:
        return None
    return TokenIdentity(row.id, row.name, Role(str(row.role))), str(row.token_hash)

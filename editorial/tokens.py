"""API tokens (admins): EDITOR and ADMIN tokens created and revoked through the API.

Separation of duties: an admin may not publish, so may not mint a token that can.
Reviewer tokens (medical sign-off) come from the CLI, i.e. an operator with access to
the database and its configuration.
"""

from __future__ import annotations

import re

from sqlmodel import Session

from db import editorial as ed
from db import tokens
from db.rows import ApiTokenRow
from editorial.outcome import Done
from editorial.permissions import Actor
from resolvers.errors import BadUserInput, ForbiddenError

_TOKEN_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._@-]{0,79}$")


def check_mintable_role(role: str) -> None:
    """FORBIDDEN for a REVIEWER token (see the module's docstring)."""
    if role.upper() == "REVIEWER":
        raise ForbiddenError(
            "reviewer tokens carry medical sign-off: an operator creates them with "
            "`compendium token create --role reviewer`; admins may create editor and admin "
            "tokens",
            role="REVIEWER",
        )


def check_token_name(name: str) -> None:
    if not _TOKEN_NAME.match(name):
        raise BadUserInput(
            "the token name is not valid",
            problems=[
                {
                    "path": "name",
                    "message": "1-80 letters, digits, spaces or . _ @ -, starting with a "
                    "letter or digit",
                }
            ],
        )


def create_token(
    session: Session, actor: Actor, name: str, role: str
) -> Done[tuple[str, ApiTokenRow]]:
    """The new token's secret (shown once) and its row."""
    try:
        secret, row = tokens.create_token(session, name, role)
    except tokens.TokenNameTaken as exc:
        raise ed.Refused(str(exc), "NAME_TAKEN", path="name") from None
    actor.audit(
        session,
        "createApiToken",
        "ApiToken",
        record_id=row.id,
        record_key=name,
        before=None,
        after=None,
        detail={"role": role},
    )
    return Done((secret, row))


def revoke_token(session: Session, actor: Actor, name: str) -> Done[ApiTokenRow]:
    if not tokens.revoke_token(session, name):
        raise ed.NotFound("active token", name)
    row = tokens.token_by_name(session, name)
    actor.audit(
        session,
        "revokeApiToken",
        "ApiToken",
        record_id=row.id,
        record_key=name,
        before=None,
        after=None,
    )
    return Done(row)

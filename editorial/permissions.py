"""Who may do what, and who is acting.

The mutations and the editors-only fields name their permission
(``permission_classes=[CanEdit]``): strawberry checks it before the resolver runs.
The roles behind each permission are the ``Viewer``'s (``resolvers/context.py``).
"""

from __future__ import annotations

import abc
from dataclasses import dataclass
from typing import Any, ClassVar

import strawberry
from sqlmodel import Session
from strawberry.permission import BasePermission

from db import editorial as ed
from resolvers.context import Context, Viewer
from resolvers.errors import ForbiddenError, UnauthenticatedError

NEEDS_TOKEN = "this needs an API token: send `Authorization: Bearer <token>`"


class TokenPermission(BasePermission):
    """Anonymous: UNAUTHENTICATED (strawberry raises ``error_class(message)``). A token
    whose role lacks the permission: FORBIDDEN, raised here because its message names
    the role, which ``on_unauthorized`` (no request) cannot see."""

    message = NEEDS_TOKEN
    error_class = UnauthenticatedError
    needs: ClassVar[str]  # who has it, for the FORBIDDEN message

    @abc.abstractmethod
    def allows(self, viewer: Viewer) -> bool: ...

    def has_permission(self, source: Any, info: strawberry.Info, **kwargs: Any) -> bool:
        viewer: Viewer = info.context.viewer
        if viewer.role == "anonymous" or viewer.name is None:
            return False
        if not self.allows(viewer):
            raise ForbiddenError(
                f"the {viewer.role} role may not do this; it takes {self.needs}",
                role=viewer.role,
            )
        return True


class CanPreview(TokenPermission):
    """Drafts and editorial history: revisions, diffs, findings."""

    needs = "an editor, reviewer or admin"

    def allows(self, viewer: Viewer) -> bool:
        return viewer.can_preview


class CanEdit(TokenPermission):
    """Facts, sections, generation, imports, submitting, unpublishing and archiving."""

    needs = "an editor, reviewer or admin"

    def allows(self, viewer: Viewer) -> bool:
        return viewer.can_edit


class CanPublish(TokenPermission):
    """Medical sign-off: approving and publishing."""

    needs = "a reviewer"

    def allows(self, viewer: Viewer) -> bool:
        return viewer.can_publish


class CanAdmin(TokenPermission):
    """API tokens and the audit log."""

    needs = "an admin"

    def allows(self, viewer: Viewer) -> bool:
        return viewer.can_admin


@dataclass(frozen=True, slots=True)
class Actor:
    """The token a unit of work acts for, as the audit log records it."""

    name: str
    role: str
    request_id: str | None

    @staticmethod
    def of(ctx: Context) -> Actor:
        """The acting token of a request (its field's permission class admitted it)."""
        viewer = ctx.viewer
        if viewer.role == "anonymous" or viewer.name is None:
            # Only a field declared without its permission class gets here.
            raise UnauthenticatedError(NEEDS_TOKEN)
        return Actor(viewer.name, viewer.role, ctx.request_id)

    def audit(self, session: Session, action: str, record_type: str, **kw: Any) -> None:
        ed.audit(
            session,
            actor=self.name,
            role=self.role,
            action=action,
            record_type=record_type,
            request_id=self.request_id,
            **kw,
        )

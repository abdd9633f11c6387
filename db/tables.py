"""The tables as SQLAlchemy Core handles, with their full names, for the SQL of db/.

SQL is written against these (not the SQLModel classes) so a query reads like the
SQL it emits and returns plain rows. One handle per table, declared once here.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table

from db.models import (
    Citation,
    Compound,
    Condition,
    Evidence,
    Publisher,
    Review,
    ReviewRevision,
    ReviewSection,
    Template,
)
from db.operations import (
    ApiToken,
    AuditEntry,
    ChangeLog,
    PersistedDocument,
    ScheduledAction,
    WebhookDelivery,
    WebhookNotice,
    WebhookSubscription,
)
from db.read_model import (
    FactVersion,
    PublicCompound,
    PublicCondition,
    PublicEvidence,
    PublicPublisher,
    PublicReview,
    PublicTranslation,
)


def _table(model: Any) -> Table:
    return model.__table__  # type: ignore[no-any-return]


# The working copy (editors).
COMPOUND = _table(Compound)
CONDITION = _table(Condition)
EVIDENCE = _table(Evidence)
CITATION = _table(Citation)
PUBLISHER = _table(Publisher)
TEMPLATE = _table(Template)
REVIEW = _table(Review)
REVIEW_SECTION = _table(ReviewSection)
# What reviewers approved (immutable) and the approved copies readers read.
REVIEW_REVISION = _table(ReviewRevision)
FACT_VERSION = _table(FactVersion)
PUBLIC_COMPOUND = _table(PublicCompound)
PUBLIC_CONDITION = _table(PublicCondition)
PUBLIC_EVIDENCE = _table(PublicEvidence)
PUBLIC_PUBLISHER = _table(PublicPublisher)
PUBLIC_REVIEW = _table(PublicReview)
PUBLIC_TRANSLATION = _table(PublicTranslation)
# Operations.
API_TOKEN = _table(ApiToken)
AUDIT_LOG = _table(AuditEntry)
CHANGE_LOG = _table(ChangeLog)
WEBHOOK_DELIVERY = _table(WebhookDelivery)
WEBHOOK_SUBSCRIPTION = _table(WebhookSubscription)
WEBHOOK_NOTICE = _table(WebhookNotice)
SCHEDULED_ACTION = _table(ScheduledAction)
PERSISTED_DOCUMENT = _table(PersistedDocument)

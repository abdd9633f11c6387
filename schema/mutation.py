"""The Mutation root: the editorial workflow, by domain (``schema/mutations/``).

Each field names its permission, then runs one unit of work of ``editorial/`` as one
transaction (all or nothing). Updates take the `expectedRevision` the caller last read
and answer CONFLICT when the record moved on meanwhile.
"""

from __future__ import annotations

import strawberry

from schema.mutations.catalog import CatalogMutations
from schema.mutations.facts import FactMutations
from schema.mutations.history import HistoryMutations
from schema.mutations.reviews import ReviewMutations
from schema.mutations.tokens import TokenMutations
from schema.webhooks import WebhookMutations


@strawberry.type(
    description="Change facts and reviews (editorial workflow). Every mutation needs an API "
    "token; each runs in one transaction, all or nothing, and is recorded in the audit log."
)
class Mutation(
    FactMutations,
    CatalogMutations,
    ReviewMutations,
    HistoryMutations,
    TokenMutations,
    WebhookMutations,
):
    """Compounds, conditions, evidence, the publisher; catalog imports; generation,
    sections and the review workflow; history and scheduling; API tokens; webhook
    subscriptions (in this order in the SDL)."""

"""GraphQL types (strawberry); ``schema`` is the executable schema."""

from __future__ import annotations

import strawberry

from schema.catalog import Compound, Condition
from schema.mutation import Mutation
from schema.query import Query
from schema.review import Review

schema = strawberry.Schema(query=Query, mutation=Mutation, types=[Compound, Condition, Review])

__all__ = ["schema"]

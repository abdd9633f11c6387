"""API token mutations (admins)."""

from __future__ import annotations

from typing import Annotated

import strawberry

from editorial import tokens
from editorial.permissions import CanAdmin
from editorial.transaction import run
from schema.editorial import ApiToken, Role


@strawberry.type(description="A new API token. Its secret is shown here once and never again.")
class CreatedApiToken:
    token: str = strawberry.field(description="The secret: send it as `Authorization: Bearer`.")
    api_token: ApiToken = strawberry.field(description="The stored token (without its secret).")


@strawberry.type
class TokenMutations:
    @strawberry.mutation(
        description="Create an EDITOR or ADMIN API token (admin); its secret is shown once. "
        "REVIEWER tokens publish (medical sign-off), which admins may not: they are created "
        "only by an operator with `compendium token create --role reviewer`, and asking for "
        "one here is FORBIDDEN.",
        permission_classes=[CanAdmin],
    )
    async def create_api_token(
        self,
        info: strawberry.Info,
        name: Annotated[str, strawberry.argument(description="Unique name (1-80 characters).")],
        role: Annotated[Role, strawberry.argument(description="What it may do: EDITOR or ADMIN.")],
    ) -> CreatedApiToken:
        tokens.check_mintable_role(role.name)
        tokens.check_token_name(name)
        secret, row = await run(info.context, tokens.create_token, name, role.name)
        return CreatedApiToken(token=secret, api_token=ApiToken(row=row))

    @strawberry.mutation(
        description="Revoke an API token (admin); it stops working at once.",
        permission_classes=[CanAdmin],
    )
    async def revoke_api_token(
        self,
        info: strawberry.Info,
        name: Annotated[str, strawberry.argument(description="The token's name.")],
    ) -> ApiToken:
        return ApiToken(row=await run(info.context, tokens.revoke_token, name))

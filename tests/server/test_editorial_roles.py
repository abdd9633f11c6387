"""Editorial roles: credentials, what each role may do, and tokens."""

from __future__ import annotations

from typing import Any

from db.engine import make_engine, session_scope
from db.tokens import revoke_token
from tests.conftest import Api
from tests.server.editing import (
    COMPOUND,
    EDITOR_VIEW,
    PUBLISH,
    SLUG,
    SUBMIT,
    UPDATE_COMPOUND,
    Client,
)


async def test_credentials_are_checked(api: Api, demo_url: str, as_role: Any) -> None:
    response = await api.post(COMPOUND, headers={"authorization": "Bearer cmp_nope"})
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    response = await api.post(COMPOUND, headers={"authorization": "Basic abc"})
    assert response.status_code == 401

    editor = as_role("editor")
    assert (await editor.data(COMPOUND))["compound"]["revision"] == 1
    engine = make_engine(demo_url)
    with session_scope(engine) as session:
        assert revoke_token(session, "editor-ann")
    engine.dispose()
    assert (await editor.raw(COMPOUND)).status_code == 401


async def test_each_role_allowed_and_refused(as_role: Any) -> None:
    anonymous, editor, reviewer, admin = (as_role(r) for r in (None, "editor", "reviewer", "admin"))
    fix = {"rev": 1, "level": "Updated evidence summary."}
    assert (await anonymous.error(UPDATE_COMPOUND, fix))["extensions"]["code"] == "UNAUTHENTICATED"
    for who in (editor, reviewer, admin):
        rev = (await who.data(COMPOUND))["compound"]["revision"]
        await who.data(UPDATE_COMPOUND, {**fix, "rev": rev, "level": f"Level {rev}."})

    # Only a reviewer publishes; editors and admins are refused before anything happens.
    review = (await editor.data(EDITOR_VIEW, {"slug": SLUG}))["review"]
    submitted = await editor.data(SUBMIT, {"slug": SLUG, "rev": review["revision"]})
    rev = submitted["submitForReview"]["review"]["revision"]
    for who in (editor, admin):
        error = await who.error(PUBLISH, {"slug": SLUG, "rev": rev})
        assert error["extensions"]["code"] == "FORBIDDEN"
    await reviewer.data(PUBLISH, {"slug": SLUG, "rev": rev})

    audit = "query A { auditLog(first: 5) { totalCount edges { node { actor action } } } }"
    tokens_q = "query T { apiTokens { name role prefix revokedAt } }"
    for who in (editor, reviewer):
        assert (await who.error(audit))["extensions"]["code"] == "FORBIDDEN"
        assert (await who.error(tokens_q))["extensions"]["code"] == "FORBIDDEN"
    assert (await anonymous.error(audit))["extensions"]["code"] == "UNAUTHENTICATED"
    log = (await admin.data(audit))["auditLog"]
    assert log["edges"][0]["node"] == {"actor": "reviewer-ann", "action": "publishReview"}
    names = {t["name"]: t["role"] for t in (await admin.data(tokens_q))["apiTokens"]}
    assert names == {"editor-ann": "EDITOR", "reviewer-ann": "REVIEWER", "admin-ann": "ADMIN"}

    # Readers see no drafts and no editorial history.
    assert (
        await anonymous.error('query H { review(slug: "ketamine--als") { revisions { number } } }')
    )["extensions"]["code"] == "UNAUTHENTICATED"
    drafts = await anonymous.data(
        "query D { reviews(first: 100, filter: {status: [DRAFT, IN_REVIEW]}) { totalCount } }"
    )
    assert drafts["reviews"]["totalCount"] == 0


async def test_admin_manages_tokens(api: Api, as_role: Any) -> None:
    admin = as_role("admin")
    created = await admin.data(
        'mutation T { createApiToken(name: "night editor", role: EDITOR) { token apiToken { name role prefix } } }'
    )
    secret = created["createApiToken"]["token"]
    assert secret.startswith(created["createApiToken"]["apiToken"]["prefix"])
    night = Client(api, secret)
    assert (await night.data(COMPOUND))["compound"]["revision"] == 1
    duplicate = await admin.error(
        'mutation T { createApiToken(name: "night editor", role: EDITOR) { token } }'
    )
    assert duplicate["extensions"]["code"] == "BAD_USER_INPUT"
    assert (
        await as_role("editor").error(
            'mutation R { revokeApiToken(name: "night editor") { name } }'
        )
    )["extensions"]["code"] == "FORBIDDEN"
    await admin.data('mutation R { revokeApiToken(name: "night editor") { revokedAt } }')
    assert (await night.raw(COMPOUND)).status_code == 401


async def test_admins_cannot_mint_reviewer_tokens(as_role: Any) -> None:
    """Separation of duties: an admin may not publish, so may not create a token that can.
    Reviewer tokens come from the CLI only (an operator with database access)."""
    admin = as_role("admin")
    tokens_q = "query T { apiTokens { name role } }"
    before = (await admin.data(tokens_q))["apiTokens"]
    error = await admin.error(
        'mutation T { createApiToken(name: "rubber stamp", role: REVIEWER) { token } }'
    )
    assert error["extensions"]["code"] == "FORBIDDEN"
    assert "compendium token create" in error["message"]
    assert (await admin.data(tokens_q))["apiTokens"] == before
    audit = await admin.data(
        'query A { auditLog(first: 5, filter: {action: "createApiToken"}) { totalCount } }'
    )
    assert audit["auditLog"]["totalCount"] == 0
    # Tokens that cannot publish are still the admin's to give.
    for role in ("EDITOR", "ADMIN"):
        created = await admin.data(
            f'mutation T {{ createApiToken(name: "new {role.lower()}", role: {role}) '
            "{ apiToken { role } } }"
        )
        assert created["createApiToken"]["apiToken"]["role"] == role
    minted = await admin.data(
        'query A { auditLog(first: 5, filter: {action: "createApiToken"}) '
        "{ edges { node { actor recordKey } } } }"
    )
    assert [e["node"] for e in minted["auditLog"]["edges"]] == [
        {"actor": "admin-ann", "recordKey": "new admin"},
        {"actor": "admin-ann", "recordKey": "new editor"},
    ]

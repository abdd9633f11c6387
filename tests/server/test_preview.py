"""The editor preview pages (/preview/{slug}) and their cookie session, over real HTTP."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine

from catalog.importing import import_data
from db.engine import make_engine, session_scope
from db.tokens import create_token, revoke_token
from editorial.generation import generate
from server.auth import PREVIEW_COOKIE
from tests.conftest import Api

SLUG = "ketamine--als"
TITLE = (
    "Is Ketamine (IV / Esketamine) Safe for ALS (Amyotrophic Lateral Sclerosis) Patients?"
    " — Research Review"
)
SCRIPT = "<script>alert(1)</script>"


@pytest.fixture
def demo_engine(demo_url: str) -> Iterator[Engine]:
    """The api fixture's database, for setting up tokens and content behind its back."""
    engine = make_engine(demo_url)
    yield engine
    engine.dispose()


def token(engine: Engine, name: str = "editor", role: str = "editor") -> str:
    with session_scope(engine) as session:
        secret, _row = create_token(session, name, role)
    return secret


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def text_of(page: str) -> str:
    """The visible text of a page, roughly: head and tags dropped, entities kept."""
    page = page.split("</head>")[-1]
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page))


def assert_private_headers(response: httpx.Response) -> None:
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["cache-control"] == "private, no-store"
    assert "noindex" in response.headers["x-robots-tag"]
    assert response.headers["referrer-policy"] == "no-referrer"
    csp = response.headers["content-security-policy"]
    for directive in (
        "default-src 'none'",
        "img-src 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "form-action 'self'",
    ):
        assert directive in csp, csp
    assert "unsafe-inline" not in csp and "script-src" not in csp
    # The one inline stylesheet is allowed by its exact hash, and nothing else is inline.
    styles = re.findall(r"<style>(.*?)</style>", response.text, re.S)
    assert len(styles) == 1
    digest = base64.b64encode(hashlib.sha256(styles[0].encode()).digest()).decode()
    assert f"style-src 'sha256-{digest}'" in csp
    assert "<script" not in response.text.lower()
    assert " style=" not in response.text


async def test_anonymous_gets_a_401_page_explaining_how_to_sign_in(api: Api) -> None:
    response = await api.client.get(f"/preview/{SLUG}")
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert_private_headers(response)
    page = response.text
    assert "Sign in to preview" in page
    assert "Authorization: Bearer &lt;token&gt;" in page
    assert 'href="/graphql"' in page and "GraphiQL" in page
    assert "Ketamine" not in page  # nothing about the review itself


@pytest.mark.parametrize(
    "header",
    [
        "Bearer cmp_not-a-real-token",
        "Bearer nonsense",
        "Basic dXNlcjpwYXNz",
        "Bearer ",
    ],
)
async def test_bad_credentials_get_401(api: Api, header: str) -> None:
    response = await api.client.get(f"/preview/{SLUG}", headers={"Authorization": header})
    assert response.status_code == 401
    assert "Sign in to preview" in response.text and "refused" in response.text
    assert TITLE not in response.text
    assert_private_headers(response)


async def test_a_revoked_token_gets_401(api: Api, demo_engine: Engine) -> None:
    secret = token(demo_engine)
    assert (await api.client.get(f"/preview/{SLUG}", headers=bearer(secret))).status_code == 200
    with session_scope(demo_engine) as session:
        assert revoke_token(session, "editor")
    response = await api.client.get(f"/preview/{SLUG}", headers=bearer(secret))
    assert response.status_code == 401 and TITLE not in response.text


async def test_an_editor_sees_the_page_under_a_status_banner(api: Api, demo_engine: Engine) -> None:
    secret = token(demo_engine, "ed-1")
    response = await api.client.get(f"/preview/{SLUG}", headers=bearer(secret))
    assert response.status_code == 200, response.text[:2000]
    assert_private_headers(response)
    page = response.text
    assert page.startswith("<!doctype html>")
    assert f"<h1>{TITLE}</h1>" in page
    assert '<header class="banner" id="preview-banner"' in page
    assert re.search(r'<span class="pill status-published" id="status">PUBLISHED</span>', page)
    assert 'id="stale">UP TO DATE<' in page
    banner = text_of(page.split("<header", 1)[1].split("</header>")[0])
    assert "Editor preview" in banner
    assert re.search(r"Template \S+ Revision \d+ Updated \d{4}-\d\d-\d\d", banner), banner
    assert "Signed in ed-1 (editor)" in banner
    assert f'href="/preview/{SLUG}?as=reader"' in page
    # The page itself: the reader's layout (byline, sections, FAQ), from page_html.
    assert '<p class="byline">' in page and '<section class="faq">' in page
    assert "<h2>Bottom Line on Safety</h2>" in page
    assert f"<title>Preview: {TITLE}</title>" in page


async def test_reader_view_renders_the_published_revision(api: Api, demo_engine: Engine) -> None:
    secret = token(demo_engine)
    response = await api.client.get(f"/preview/{SLUG}?as=reader", headers=bearer(secret))
    assert response.status_code == 200
    assert_private_headers(response)
    page = response.text
    assert f"<h1>{TITLE}</h1>" in page
    assert "Reader view" in text_of(page) and "Approved by" in text_of(page)
    assert f'href="/preview/{SLUG}"' in page  # back to the working copy
    assert '<header class="banner reader"' in page


async def test_cookie_session_flow(api: Api, demo_engine: Engine) -> None:
    secret = token(demo_engine)
    signed_in = await api.client.post("/preview/session", headers=bearer(secret))
    assert signed_in.status_code == 204, signed_in.text
    cookie = signed_in.headers["set-cookie"]
    # A session, not the token: signed, naming the token, valid for an hour.
    value = cookie.split(";")[0].removeprefix(f"{PREVIEW_COOKIE}=")
    assert value and secret not in cookie and re.fullmatch(r"\d+\.\d+\.[0-9a-f]{64}", value)
    attributes = {part.strip().lower() for part in cookie.split(";")[1:]}
    assert {"httponly", "path=/preview", "samesite=strict", "max-age=3600"} <= attributes
    assert "secure" not in attributes  # plain http here; https below
    assert signed_in.headers["cache-control"] == "no-store"

    # The client keeps the cookie (Path=/preview): the page opens without a header.
    page = await api.client.get(f"/preview/{SLUG}")
    assert page.status_code == 200 and f"<h1>{TITLE}</h1>" in page.text
    assert "PUBLISHED" in page.text

    # /graphql never accepts the cookie (header-only auth, so no CSRF): a draft
    # the cookie previews stays invisible there.
    load_hostile(demo_engine)
    generate(demo_engine, stale_only=True)
    draft = await api.client.get("/preview/hostile--test-ill")
    assert draft.status_code == 200 and "DRAFT" in draft.text
    assert api.client.cookies.get(PREVIEW_COOKIE) == value
    graphql = await api.client.post(
        "/graphql",
        json={"query": 'query Draft { review(slug: "hostile--test-ill") { title status } }'},
    )
    assert graphql.status_code == 200, graphql.text
    assert graphql.json()["data"] == {"review": None}

    signed_out = await api.client.delete("/preview/session")
    assert signed_out.status_code == 204
    cleared = signed_out.headers["set-cookie"].lower()
    assert cleared.startswith(f"{PREVIEW_COOKIE}=") and "path=/preview" in cleared
    assert "max-age=0" in cleared or "expires=" in cleared
    assert (await api.client.get(f"/preview/{SLUG}")).status_code == 401


async def test_the_cookie_is_secure_over_https(api: Api, demo_engine: Engine) -> None:
    secret = token(demo_engine)
    transport = httpx.ASGITransport(app=api.app)
    async with httpx.AsyncClient(transport=transport, base_url="https://testserver") as client:
        response = await client.post("/preview/session", headers=bearer(secret))
        assert response.status_code == 204
        assert "secure" in {p.strip().lower() for p in response.headers["set-cookie"].split(";")}
        assert (await client.get(f"/preview/{SLUG}")).status_code == 200


async def test_a_revoked_token_in_the_cookie_is_refused_and_dropped(
    api: Api, demo_engine: Engine
) -> None:
    secret = token(demo_engine)
    assert (await api.client.post("/preview/session", headers=bearer(secret))).status_code == 204
    with session_scope(demo_engine) as session:
        revoke_token(session, "editor")
    response = await api.client.get(f"/preview/{SLUG}")
    assert response.status_code == 401
    assert response.headers["set-cookie"].startswith(f"{PREVIEW_COOKIE}=")
    assert PREVIEW_COOKIE not in api.client.cookies


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer cmp_wrong"},
        {"Authorization": "Token abc"},
    ],
)
async def test_session_refuses_bad_tokens_with_a_graphql_style_error(
    api: Api, headers: dict[str, str]
) -> None:
    response = await api.client.post("/preview/session", headers=headers)
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/json")
    assert "set-cookie" not in response.headers
    errors = response.json()["errors"]
    assert len(errors) == 1 and errors[0]["message"]
    assert errors[0]["extensions"] == {"code": "UNAUTHENTICATED"}


async def test_session_does_not_accept_the_cookie_alone(api: Api, demo_engine: Engine) -> None:
    secret = token(demo_engine)
    response = await api.client.post(
        "/preview/session", headers={"Cookie": f"{PREVIEW_COOKIE}={secret}"}
    )
    assert response.status_code == 401


async def test_unknown_slug_is_a_404_page(api: Api, demo_engine: Engine) -> None:
    secret = token(demo_engine)
    response = await api.client.get("/preview/nothing--here", headers=bearer(secret))
    assert response.status_code == 404
    assert_private_headers(response)
    assert "No such review" in response.text and "nothing--here" in response.text

    # The slug is echoed, escaped.
    hostile = await api.client.get("/preview/%3Cscript%3Ealert(1)%22%3E", headers=bearer(secret))
    assert hostile.status_code == 404
    assert "&lt;script&gt;alert(1)&quot;&gt;" in hostile.text
    assert "<script" not in hostile.text.lower()
    assert (
        await api.client.get("/preview/" + "a" * 300, headers=bearer(secret))
    ).status_code == 404


async def test_the_favicon_is_served_from_the_preview_path(api: Api) -> None:
    response = await api.client.get("/preview/favicon.svg")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("image/svg+xml")
    assert response.text.startswith("<svg")


HOSTILE_CATALOG: dict[str, Any] = {
    "compounds": [
        {
            "slug": "hostile",
            "name": f"Hostile {SCRIPT}",
            "drug_class": "Test <b>class</b>",
            "safety_profile": [f"causes {SCRIPT} & <img src=x onerror=alert(2)>"],
            "regulatory_status": "none",
            "evidence_level": "none",
            "mechanisms": ["</article><script>alert(3)</script>"],
        }
    ],
    "conditions": [
        {"slug": "test-ill", "name": "Testitis", "specialist": 'tester "<i>quoted</i>"'}
    ],
    "evidence": [{"compound": "hostile", "condition": "test-ill", "research": "limited"}],
}


def load_hostile(engine: Engine, **changes: Any) -> None:
    catalog = {**HOSTILE_CATALOG}
    if changes:
        catalog["compounds"] = [{**HOSTILE_CATALOG["compounds"][0], **changes}]
    with session_scope(engine) as session:
        import_data(session, catalog, "hostile.yaml")


async def test_facts_with_markup_are_escaped_in_a_draft(api: Api, demo_engine: Engine) -> None:
    load_hostile(demo_engine)
    generate(demo_engine, stale_only=True)
    secret = token(demo_engine)
    response = await api.client.get("/preview/hostile--test-ill", headers=bearer(secret))
    assert response.status_code == 200, response.text[:2000]
    assert_private_headers(response)
    page = response.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&lt;img src=x onerror=alert(2)&gt;" in page
    assert "<script" not in page.lower() and "<img" not in page.lower()
    assert "<b>class</b>" not in page and "<i>quoted</i>" not in page
    assert page.count("</article>") == 1
    assert "<title>Preview: Is Hostile &lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert '<span class="pill status-draft" id="status">DRAFT</span>' in page

    # A draft has no published revision: readers get nothing, and the page says so.
    reader = await api.client.get("/preview/hostile--test-ill?as=reader", headers=bearer(secret))
    assert reader.status_code == 404
    assert "Not published" in reader.text and "DRAFT" in reader.text
    assert 'href="/preview/hostile--test-ill"' in reader.text


async def test_changed_facts_mark_the_preview_stale(api: Api, demo_engine: Engine) -> None:
    load_hostile(demo_engine)
    generate(demo_engine, stale_only=True)
    secret = token(demo_engine)
    fresh = await api.client.get("/preview/hostile--test-ill", headers=bearer(secret))
    assert 'id="stale">UP TO DATE<' in fresh.text
    load_hostile(demo_engine, drug_class="Another class")  # facts change, no regeneration
    stale = await api.client.get("/preview/hostile--test-ill", headers=bearer(secret))
    assert stale.status_code == 200
    assert 'id="stale"' in stale.text and ">STALE</span>" in stale.text


# --- the session is not the token; previews are rate-limited ----------------------------------


async def signed_in(client: httpx.AsyncClient, secret: str) -> str:
    response = await client.post("/preview/session", headers=bearer(secret))
    assert response.status_code == 204, response.text
    value = client.cookies.get(PREVIEW_COOKIE)
    assert value
    return value


async def test_the_preview_cookie_is_a_session_not_the_token(api: Api, demo_engine: Engine) -> None:
    secret = token(demo_engine)
    value = await signed_in(api.client, secret)
    assert secret not in value
    # It opens previews, and nothing else: it is no bearer token for /graphql...
    assert (await api.client.get(f"/preview/{SLUG}")).status_code == 200
    graphql = await api.client.post(
        "/graphql",
        json={"query": "query T { __typename }"},
        headers={"authorization": f"Bearer {value}", "accept": "application/json"},
    )
    assert graphql.status_code == 401
    # ...and a changed expiry or id breaks its signature.
    token_id, expires, signature = value.split(".")
    for forged in (
        f"{token_id}.{int(expires) + 86400}.{signature}",
        f"{int(token_id) + 1}.{expires}.{signature}",
        f"{token_id}.{expires}.{'0' * 64}",
        "garbage",
    ):
        api.client.cookies.clear()
        api.client.cookies.set(PREVIEW_COOKIE, forged, path="/preview")
        refused = await api.client.get(f"/preview/{SLUG}")
        assert refused.status_code == 401 and TITLE not in refused.text, forged


async def test_a_preview_session_expires(make_api: Any, demo_engine: Engine) -> None:
    api: Api = await make_api(preview_session_seconds=1)
    await signed_in(api.client, token(demo_engine))
    assert (await api.client.get(f"/preview/{SLUG}")).status_code == 200
    value = api.client.cookies.get(PREVIEW_COOKIE)
    await asyncio.sleep(2.1)
    # (Sent again by hand: this checks the server, not the client's Max-Age.)
    api.client.cookies.clear()
    api.client.cookies.set(PREVIEW_COOKIE, value or "", path="/preview")
    expired = await api.client.get(f"/preview/{SLUG}")
    assert expired.status_code == 401 and "expired" in expired.text


async def test_previews_are_rate_limited(make_api: Any, demo_engine: Engine) -> None:
    api: Api = await make_api(rate_limit_anonymous=3)
    secret = token(demo_engine)
    statuses = [
        (await api.client.get(f"/preview/guess-{n}--x", headers=bearer(secret))).status_code
        for n in range(5)
    ]
    assert statuses[:3] == [404, 404, 404] and statuses[3:] == [429, 429]
    limited = await api.client.get(f"/preview/{SLUG}", headers=bearer(secret))
    assert limited.status_code == 429 and 1 <= int(limited.headers["retry-after"]) <= 60
    assert TITLE not in limited.text
    session = await api.client.post("/preview/session", headers=bearer(secret))
    assert session.status_code == 429
    assert session.json()["errors"][0]["extensions"]["code"] == "RATE_LIMITED"

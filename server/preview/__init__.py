"""Editor preview: a review rendered as a reader would see it, behind a token.

``GET /preview/{slug}`` renders the working copy (drafts included) as a complete,
self-contained HTML page under a status banner; ``?as=reader`` renders what an
anonymous reader gets instead (the published revision, or a 404 page).

Authentication is the editor's API token, sent as ``Authorization: Bearer
<token>``, or a preview session: the cookie that ``POST /preview/session`` sets
from that header (so a browser can open preview links, e.g. from GraphiQL). The
cookie is not the token: it is a signed, short-lived (``preview_session_seconds``,
1 h), preview-only session naming the token (server/auth.py), checked against the
token on every request, so revoking the token ends it.

The cookie is HttpOnly, SameSite=Strict and scoped to ``Path=/preview``, and
only these read-only pages accept it: ``/graphql`` authenticates by header alone
(server/auth.py), so a cross-site page can never make a browser mutate content
with it, i.e. there is no CSRF to defend against. ``POST /preview/session``
itself needs the Authorization header, which a cross-site form cannot send.

Every preview request (each a database lookup) counts against the client's
address at the anonymous request rate, with /graphql's limiter.

The pages run no script at all: the policy is ``default-src 'none'`` with the
one inline stylesheet allowed by its hash, and every piece of text (facts,
editor text, the slug) is escaped.
"""

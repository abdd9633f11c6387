"""What pages and stored texts must look like: inert HTML and Markdown, invisible
characters dropped; and an editor that checks them over HTTP."""

from __future__ import annotations

import re
import unicodedata
from html.parser import HTMLParser
from typing import Any

from tests.conftest import Api
from tests.server.fuzz.client import bearer, post_graphql, timed
from tests.server.fuzz.fields import PAGE


class Inspector(HTMLParser):
    """Every tag and attribute of a page, and its text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []
        self.data: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))

    def handle_data(self, data: str) -> None:
        self.data.append(data)


FRAGMENT_TAGS = {"article", "h1", "h2", "h3", "p", "ul", "li", "strong", "section", "div"}
PAGE_TAGS = FRAGMENT_TAGS | {
    *("html", "head", "meta", "title", "link", "style", "body", "header", "span"),
    *("a", "dl", "dt", "dd", "main", "footer", "code", "ol", "em"),
}
ATTRIBUTES = {
    *("class", "role", "id", "href", "lang", "charset", "name", "content", "rel", "type"),
    *("aria-label", "title"),
}
URL_ATTRIBUTES = {"href", "src", "action", "formaction", "xlink:href", "srcset", "poster", "data"}


def assert_inert(page: str, tags: set[str]) -> str:
    """No script, no event handler, no script URL, only our own tags; returns the text."""
    inspector = Inspector()
    inspector.feed(page)
    inspector.close()
    for tag, attrs in inspector.tags:
        assert tag in tags, f"<{tag} {attrs}> in {page[:3000]}"
        for name, value in attrs:
            assert name in ATTRIBUTES and not name.startswith("on"), f"<{tag} {name}={value!r}>"
            if name in URL_ATTRIBUTES:
                url = re.sub(r"[\x00-\x20]", "", value or "").lower()
                assert not url.startswith(("javascript:", "vbscript:", "data:")), (tag, value)
    assert "<script" not in page.lower()
    return " ".join("".join(inspector.data).split())


def assert_markdown_inert(markdown: str) -> None:
    assert not re.search(r"(?<!\\)\]\(\s*javascript:", markdown, re.I), markdown[:3000]
    assert not re.search(r"(?<!\\)<\s*(script|img|svg|a)\b", markdown, re.I), markdown[:3000]


class Editor:
    def __init__(self, api: Api, token: str):
        self.api, self.token = api, token

    async def run(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        return await post_graphql(self.api, query, variables, self.token)

    async def data(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        payload = await self.run(query, variables)
        assert not payload.get("errors"), payload
        return payload["data"]  # type: ignore[no-any-return]

    async def check_page(self, slug: str, expect: str = "") -> None:
        """The page's HTML (GraphQL and /preview) is inert and shows ``expect``."""
        page = (await self.data(PAGE, {"slug": slug}))["review"]
        assert page is not None, slug
        whole = assert_inert(page["text"], FRAGMENT_TAGS)
        for section in page["sections"]:
            assert_inert(section["body"], FRAGMENT_TAGS)
        for item in page["faq"]:
            assert_inert(item["answer"], FRAGMENT_TAGS)
        assert_markdown_inert(page["markdown"])
        response = await timed(self.api.client.get(f"/preview/{slug}", headers=bearer(self.token)))
        assert response.status_code == 200, response.text[:2000]
        preview = assert_inert(response.text, PAGE_TAGS)
        if expect:
            assert expect in whole and expect in preview, f"{expect[:300]!r} is not on the page"


# Invisible characters (README: Content check): format characters (Cf) and the other
# default-ignorable code points (DerivedCoreProperties.txt), written out independently of
# resolvers/text_safety.py.
INVISIBLE_SET = frozenset(
    [c for c in map(chr, range(0x20000)) if unicodedata.category(c) == "Cf"]
    + ["\u034f", "\u115f", "\u1160", "\u17b4", "\u17b5", "\u3164", "\uffa0"]
    + [chr(c) for c in (*range(0x180B, 0x1810), *range(0xFE00, 0xFE10), *range(0xFFF0, 0xFFF9))]
    + [chr(c) for c in range(0xE0000, 0xE1000)]
)
# What the claim strategy inserts: all of them below plane 14 and a few tags and variation
# selectors of plane 14; not the Hangul fillers, which show as a blank.
INVISIBLE = sorted(c for c in INVISIBLE_SET if ord(c) < 0xE0000)
INVISIBLE = [c for c in INVISIBLE if c not in "\u115f\u1160\u3164\uffa0"]
INVISIBLE += [chr(c) for c in (0xE0001, 0xE0020, 0xE0041, 0xE007F, 0xE0100, 0xE01EF, 0xE0FFF)]
# Joiners and variation selectors may stay where a script or an emoji needs them.
MAY_STAY = {"\u200c", "\u200d", *(chr(c) for c in range(0xFE00, 0xFE10))}
MAY_STAY |= {chr(c) for c in range(0xE0100, 0xE01F0)}


def unseen(value: str) -> str:
    """A text without any invisible character, NFC: how the stored text must read."""
    return unicodedata.normalize("NFC", "".join(c for c in value if c not in INVISIBLE_SET))


def assert_cleaned(stored: str, sent: str) -> None:
    """Stored as the editor wrote it, invisible characters aside, and in NFC."""
    assert stored == unicodedata.normalize("NFC", stored), repr(stored[:200])
    assert all(c not in INVISIBLE_SET or c in MAY_STAY for c in stored), repr(stored[:200])
    assert unseen(stored) == unseen(sent), f"{stored[:200]!r} for {sent[:200]!r}"

"""One document model, three formats.

A page is a title, a byline, an optional notice and ordered sections; a section
is a heading and a list of blocks. Blocks are plain JSON so they can be stored
as they are and snapshotted into revisions:

    {"type": "paragraph", "spans": [{"text": "Medical Disclaimer:", "bold": true}, ...]}
    {"type": "list", "items": [[span, ...], ...]}
    {"type": "faq", "question": "...", "answer": [span, ...]}

MARKDOWN, HTML and PLAIN are all rendered from this one structure, and every
piece of text is escaped for the target format, so facts can never inject markup.
"""

from __future__ import annotations

import enum
import html
import json
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

Block = dict[str, Any]
Span = dict[str, Any]


class TextFormat(enum.StrEnum):
    MARKDOWN = "MARKDOWN"
    HTML = "HTML"
    PLAIN = "PLAIN"


@dataclass(slots=True)
class Section:
    key: str
    position: int
    heading: str | None
    blocks: list[Block]
    origin: str = "GENERATED"
    revision: int | None = None  # of the working copy's section; None in a published revision

    def as_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "position": self.position,
            "heading": self.heading,
            "blocks": self.blocks,
            "origin": self.origin,
        }


@dataclass(slots=True)
class Page:
    title: str
    byline: str
    notice: str
    sections: list[Section] = field(default_factory=list)
    description: str = ""


class PageLike(Protocol):
    """A page, stored or composed (a published revision decodes its sections lazily)."""

    @property
    def title(self) -> str: ...
    @property
    def byline(self) -> str: ...
    @property
    def notice(self) -> str: ...
    @property
    def description(self) -> str: ...
    @property
    def sections(self) -> list[Section]: ...


# --- helpers over the block structure ---------------------------------------------------


def spans_text(spans: Iterable[Span]) -> str:
    return "".join(s["text"] for s in spans)


def block_lines(block: Block) -> Iterator[str]:
    """The lines a reader sees for one block (list items without their bullet)."""
    kind = block["type"]
    if kind == "paragraph":
        yield spans_text(block["spans"])
    elif kind == "list":
        for item in block["items"]:
            yield spans_text(item)
    elif kind == "faq":
        yield block["question"]
        yield spans_text(block["answer"])
    else:  # pragma: no cover - blocks come only from parse_markup
        raise ValueError(f"unknown block type {kind!r}")


def is_empty(blocks: Sequence[Block]) -> bool:
    return not any(line.strip() for b in blocks for line in block_lines(b))


# --- PLAIN --------------------------------------------------------------------------------


def body_plain(blocks: Iterable[Block]) -> str:
    return "\n".join(line for b in blocks for line in block_lines(b))


def page_lines(page: PageLike) -> list[str]:
    """The page as a reader sees it: one line per heading, paragraph and list item."""
    lines = [page.title]
    if page.byline:
        lines.append(page.byline)
    if page.notice:
        lines.append(page.notice)
    for section in sorted(page.sections, key=lambda s: s.position):
        if is_empty(section.blocks):
            continue
        if section.heading:
            lines.append(section.heading)
        lines.extend(line for b in section.blocks for line in block_lines(b))
    return lines


# --- MARKDOWN -----------------------------------------------------------------------------

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]<>#|~!])")
_MD_LINE_START = re.compile(r"^(\s*)([-+=]|\d+\.)(\s)")


def md_escape(text: str) -> str:
    text = _MD_SPECIAL.sub(r"\\\1", text)
    # A fact at the start of a line must not turn into a list or a heading.
    return _MD_LINE_START.sub(r"\1\\\2\3", text)


def md_spans(spans: Iterable[Span]) -> str:
    out = []
    for s in spans:
        text = md_escape(s["text"])
        if s.get("bold") and text.strip():
            lead = text[: len(text) - len(text.lstrip())]
            trail = text[len(text.rstrip()) :]
            text = f"{lead}**{text.strip()}**{trail}"
        out.append(text)
    return "".join(out)


def body_markdown(blocks: Iterable[Block]) -> str:
    parts = []
    for b in blocks:
        if b["type"] == "paragraph":
            parts.append(md_spans(b["spans"]))
        elif b["type"] == "list":
            parts.append("\n".join(f"- {md_spans(item)}" for item in b["items"]))
        elif b["type"] == "faq":
            parts.append(f"### {md_escape(b['question'])}\n\n{md_spans(b['answer'])}")
    return "\n\n".join(parts)


def page_markdown(page: PageLike) -> str:
    parts = [f"# {md_escape(page.title)}"]
    if page.byline:
        parts.append(f"*{md_escape(page.byline)}*")
    if page.notice:
        parts.append(f"> {md_escape(page.notice)}")
    for section in sorted(page.sections, key=lambda s: s.position):
        if is_empty(section.blocks):
            continue
        if section.heading:
            parts.append(f"## {md_escape(section.heading)}")
        parts.append(body_markdown(section.blocks))
    return "\n\n".join(parts) + "\n"


# --- HTML ---------------------------------------------------------------------------------


def _esc(text: str) -> str:
    return html.escape(text, quote=True)


def html_spans(spans: Iterable[Span]) -> str:
    return "".join(
        f"<strong>{_esc(s['text'])}</strong>" if s.get("bold") else _esc(s["text"]) for s in spans
    )


def body_html(blocks: Iterable[Block]) -> str:
    parts = []
    for b in blocks:
        if b["type"] == "paragraph":
            parts.append(f"<p>{html_spans(b['spans'])}</p>")
        elif b["type"] == "list":
            items = "".join(f"<li>{html_spans(item)}</li>" for item in b["items"])
            parts.append(f"<ul>{items}</ul>")
        elif b["type"] == "faq":
            parts.append(
                f'<div class="faq-item"><h3>{_esc(b["question"])}</h3>'
                f"<p>{html_spans(b['answer'])}</p></div>"
            )
    return "\n".join(parts)


def page_html(page: PageLike) -> str:
    parts = ["<article>", f"<h1>{_esc(page.title)}</h1>"]
    if page.byline:
        parts.append(f'<p class="byline">{_esc(page.byline)}</p>')
    if page.notice:
        parts.append(f'<p class="notice" role="note">{_esc(page.notice)}</p>')
    for section in sorted(page.sections, key=lambda s: s.position):
        if is_empty(section.blocks):
            continue
        key = _esc(section.key.lower().replace("_", "-"))
        parts.append(f'<section class="{key}">')
        if section.heading:
            parts.append(f"<h2>{_esc(section.heading)}</h2>")
        parts.append(body_html(section.blocks))
        parts.append("</section>")
    parts.append("</article>")
    return "\n".join(parts) + "\n"


# --- JSON for <script> elements ------------------------------------------------------------

_SCRIPT_UNSAFE = {
    "<": "\\u003c",
    ">": "\\u003e",
    "&": "\\u0026",
    "\u2028": "\\u2028",
    "\u2029": "\\u2029",
}
_SCRIPT_UNSAFE_RE = re.compile("[<>&\u2028\u2029]")


def script_safe_json(value: Any) -> str:
    """JSON that can be placed inside <script type="application/ld+json"> as it is: the
    characters that could end the element, open a comment or break a JavaScript string
    are written as \\u escapes (the same JSON value for any parser)."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return _SCRIPT_UNSAFE_RE.sub(lambda m: _SCRIPT_UNSAFE[m.group()], text)


# --- dispatch -----------------------------------------------------------------------------


def render_body(blocks: Sequence[Block], fmt: TextFormat | str) -> str:
    fmt = TextFormat(fmt)
    if fmt is TextFormat.HTML:
        return body_html(blocks)
    if fmt is TextFormat.PLAIN:
        return body_plain(blocks)
    return body_markdown(blocks)


def render_page(page: PageLike, fmt: TextFormat | str) -> str:
    fmt = TextFormat(fmt)
    if fmt is TextFormat.HTML:
        return page_html(page)
    if fmt is TextFormat.PLAIN:
        return "\n".join(page_lines(page)) + "\n"
    return page_markdown(page)

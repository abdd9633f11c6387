"""Light markup: the text of templates and of editors' sections, as blocks.

Blocks are separated by blank lines, a block whose lines start with ``- `` is a
list, ``Q:`` / ``A:`` lines are FAQ pairs, and ``**...**`` is bold. Text between
the private-use sentinels ``OPEN`` and ``CLOSE`` is literal: templates wrap every
fact they print in them (see content/templating.py), so a fact can never become
markup.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable

from content.document import Block, Span

OPEN, CLOSE, SEP = "\ue000", "\ue001", "\ue002"
_WS = re.compile(r"\s+")


class MarkupError(ValueError):
    pass


_TOKENS = re.compile(f"({OPEN}[^{CLOSE}]*{CLOSE}|\\*\\*)")
# Text whose sentinels pair up, OPEN then CLOSE, none nested: literal regions only.
_PAIRED = re.compile(f"[^{OPEN}{CLOSE}]*(?:{OPEN}[^{OPEN}{CLOSE}]*{CLOSE}[^{OPEN}{CLOSE}]*)*")


def _inline(text: str) -> list[Span]:
    """Split text into spans on ``**`` outside literal (fact) regions."""
    if "**" not in text and _PAIRED.fullmatch(text):
        # No bold, and sentinels only around literal regions (most text): one plain span
        # without the sentinels, what the general case below makes of it.
        plain_text = text.replace(OPEN, "").replace(CLOSE, "").strip()
        return [{"text": plain_text, "bold": False}] if plain_text else []
    spans: list[Span] = []
    bold = False
    buf: list[str] = []
    for token in _TOKENS.split(text):
        if not token:
            continue
        if token == "**":
            if buf:
                spans.append({"text": "".join(buf), "bold": bold})
                buf = []
            bold = not bold
        elif token[0] == OPEN:
            buf.append(token[1:-1])
        else:
            buf.append(token)
    if bold:
        raise MarkupError("unbalanced ** (bold is opened but never closed)")
    if buf:
        spans.append({"text": "".join(buf), "bold": False})
    return _tidy(spans)


def _tidy(spans: list[Span]) -> list[Span]:
    """Drop empty spans, merge neighbours of the same weight, trim the ends.

    Whitespace was already folded for the whole block (see ``_fold``)."""
    out: list[Span] = []
    for s in spans:
        text = s["text"]
        if not text:
            continue
        if out and out[-1]["bold"] == s["bold"]:
            out[-1]["text"] += text
        else:
            out.append({"text": text, "bold": s["bold"]})
    if out:
        out[0]["text"] = out[0]["text"].lstrip()
        out[-1]["text"] = out[-1]["text"].rstrip()
    out = [s for s in out if s["text"]]
    # A space between a bold lead-in and its text belongs to the plain text.
    for a, b in itertools.pairwise(out):
        if a["bold"] and a["text"].endswith(" "):
            a["text"] = a["text"].rstrip()
            b["text"] = " " + b["text"]
    return out


# What a line may hold and still be blank (a block's end): spaces, tabs, empty literals.
_BLANK = f" \t{OPEN}{CLOSE}"


def _fold(text: str) -> str:
    return _WS.sub(" ", text) if "  " in text or "\t" in text else text


def parse_markup(text: str) -> list[Block]:
    blocks: list[Block] = []
    groups: list[list[str]] = [[]]
    for raw in text.splitlines():
        if not raw.strip(_BLANK):
            if groups[-1]:
                groups.append([])
            continue
        groups[-1].append(raw.strip())
    for lines in groups:
        if not lines:
            continue
        first = lines[0]
        if first.startswith("- "):
            items: list[list[str]] = []
            for line in lines:
                if line.startswith("- "):
                    items.append([line[2:]])
                else:
                    items[-1].append(line)
            parsed = [_inline(_fold(" ".join(item))) for item in items]
            parsed = [s for s in parsed if s]
            if parsed:
                blocks.append({"type": "list", "items": parsed})
        elif first.startswith("Q:"):
            blocks.extend(_faq(lines))
        else:
            spans = _inline(_fold(" ".join(lines)))
            if spans:
                blocks.append({"type": "paragraph", "spans": spans})
    return blocks


def _faq(lines: list[str]) -> Iterable[Block]:
    pairs: list[tuple[list[str], list[str]]] = []
    target: list[str] | None = None
    for line in lines:
        if line.startswith("Q:"):
            pairs.append(([line[2:]], []))
            target = pairs[-1][0]
        elif line.startswith("A:"):
            if not pairs or pairs[-1][1]:
                raise MarkupError("an A: line must follow its Q: line")
            target = pairs[-1][1]
            target.append(line[2:])
        elif target is not None:
            target.append(line)
    for q, a in pairs:
        if not a:
            raise MarkupError("a Q: line has no A: answer")
        question = "".join(s["text"] for s in _inline(_fold(" ".join(q))))
        answer = _inline(_fold(" ".join(a)))
        if question and answer:
            yield {"type": "faq", "question": question, "answer": answer}


def plain(text: str) -> str:
    """A single-line field (title, byline, heading) as plain text."""
    return "".join(s["text"] for s in _inline(_WS.sub(" ", text)))

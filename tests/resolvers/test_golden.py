"""The default safety template reproduces the two seed pages from their facts."""

from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy import Engine

from content.document import TextFormat, render_page
from db.engine import session_scope
from editorial.generation import generate
from editorial.pages import page_for_pair
from tests.conftest import SEEDS, SHARED_SEEDS

BULLETS = "•-*"


def folded_lines(text: str) -> list[str]:
    """Whitespace folded, blank lines and bullet markers dropped."""
    lines = []
    for raw in text.splitlines():
        line = re.sub(r"\s+", " ", raw).strip()
        if line[:1] in BULLETS and line[1:2] == " ":
            line = line[2:]
        if line:
            lines.append(line)
    return lines


def seed(prefix: str) -> list[str]:
    (path,) = Path(SEEDS).glob(f"{prefix}_*.txt")
    return folded_lines(path.read_text(encoding="utf-8"))


def plain_page(engine: Engine, compound: str, condition: str) -> list[str]:
    with session_scope(engine) as session:
        page, stored = page_for_pair(session, compound, condition)
    assert stored
    return folded_lines(render_page(page, TextFormat.PLAIN))


def test_committed_seeds_match_shared_seeds() -> None:
    if not SHARED_SEEDS.is_dir():
        return  # outside the project workspace only the committed copies exist
    shared = {p.name: p.read_bytes() for p in SHARED_SEEDS.glob("*.txt")}
    committed = {p.name: p.read_bytes() for p in Path(SEEDS).glob("*.txt")}
    assert committed == shared


def test_ketamine_als_equals_seed_003_line_for_line(seed_engine: Engine) -> None:
    generate(seed_engine)
    expected = seed("003")
    assert len(expected) == 29
    assert plain_page(seed_engine, "ketamine", "als") == expected


def test_every_line_of_seed_000_appears_in_order(seed_engine: Engine) -> None:
    generate(seed_engine)
    page = plain_page(seed_engine, "ketamine", "neuropathic-pain")
    position = 0
    for line in seed("000"):
        assert line in page[position:], f"missing or out of order: {line!r}"
        position = page.index(line, position) + 1

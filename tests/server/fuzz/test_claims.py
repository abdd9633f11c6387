"""6. Claims disguised with invisible characters (issue 17, item 7) are always found."""

from __future__ import annotations

import unicodedata
from typing import Any

from hypothesis import given, note
from hypothesis import strategies as st

from content import document
from content.claims import check_sections
from content.markup import parse_markup
from tests.conftest import Api
from tests.server.fuzz.fields import PAGE, SECTION_KEYS, UPDATE_SECTION
from tests.server.fuzz.pages import INVISIBLE, INVISIBLE_SET, Editor, assert_cleaned
from tests.server.fuzz.settings import SECTION_REVIEW, fuzz

# (phrase as written, the rule and the words of its finding id)
CLAIMS = [
    ("Ketamine cures ALS", "ABSOLUTE_CLAIM", "cures"),
    ("It is completely safe", "ABSOLUTE_CLAIM", "it is completely safe"),
    ("totally safe", "ABSOLUTE_CLAIM", "totally safe"),
    ("results are guaranteed", "ABSOLUTE_CLAIM", "guaranteed"),
    ("there are no side effects", "ABSOLUTE_CLAIM", "no side effects"),
    ("no side-effects", "ABSOLUTE_CLAIM", "no side-effects"),
    ("a risk-free option", "ABSOLUTE_CLAIM", "risk-free"),
    ("proven to work", "ABSOLUTE_CLAIM", "proven to work"),
    ("a miracle", "ABSOLUTE_CLAIM", "miracle"),
    ("50 mg", "DOSING", "50 mg"),
    ("take it 2", "DOSING", "take it 2"),
    ("twice a day", "DOSING", "twice a day"),
    ("every 8 hours", "DOSING", "every 8 hours"),
]
SPACES = [c for c in map(chr, range(0x10000)) if unicodedata.category(c) == "Zs"]
DASHES = [c for c in map(chr, range(0x10000)) if unicodedata.category(c) == "Pd"]
DASHES += ["\u2212"]


@st.composite
def disguised_claims(draw: Any) -> tuple[str, str]:
    """A claim with invisible characters inserted anywhere, its spaces and hyphens
    swapped for Unicode ones and its letters' case changed; and the id it must get."""
    phrase, rule, words = draw(st.sampled_from(CLAIMS))
    out: list[str] = []
    for ch in phrase:
        if draw(st.integers(0, 2)) == 0:
            out.append(draw(st.text(st.sampled_from(INVISIBLE), min_size=1, max_size=3)))
        if ch == " ":
            ch = draw(st.sampled_from(SPACES))
        elif ch == "-":
            ch = draw(st.sampled_from(DASHES))
        elif ch.isalpha() and draw(st.booleans()):
            ch = ch.swapcase()
        out.append(ch)
    out.append(draw(st.text(st.sampled_from(INVISIBLE), max_size=2)))
    return "".join(out), f"{rule}/{words}"


@fuzz(400)
@given(claim=disguised_claims(), key=st.sampled_from(SECTION_KEYS))
def test_disguised_claims_are_always_found(claim: tuple[str, str], key: str) -> None:
    text, finding = claim
    note(repr(text))
    section = document.Section(key, 0, None, parse_markup(f"Note: {text}."), "EDITED")
    found = {f.id: f for f in check_sections([section])}
    assert f"{key}/{finding}" in found, (text, sorted(found))
    excerpt = found[f"{key}/{finding}"].excerpt
    assert not any(c in INVISIBLE_SET for c in excerpt), repr(excerpt)


@fuzz(12)
@given(claim=disguised_claims())
async def test_disguised_claims_are_found_through_the_api(
    api: Api, editor: str, claim: tuple[str, str]
) -> None:
    text, finding = claim
    note(repr(text))
    ed = Editor(api, editor)
    sections = (await ed.data(PAGE, {"slug": SECTION_REVIEW}))["review"]["sections"]
    revision = next(s["revision"] for s in sections if s["key"] == "CONSIDERATIONS")
    body = f"Our editors wrote: {text}."
    stored = await ed.data(
        UPDATE_SECTION, {"s": SECTION_REVIEW, "k": "CONSIDERATIONS", "r": revision, "body": body}
    )
    assert_cleaned(stored["updateSection"]["section"]["plain"], body)
    review = await ed.data(
        f'{{ review(slug: "{SECTION_REVIEW}") {{ findings {{ id excerpt }} }} }}'
    )
    ids = {f["id"] for f in review["review"]["findings"]}
    assert f"CONSIDERATIONS/{finding}" in ids, (text, ids)

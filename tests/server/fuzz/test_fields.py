"""5. Every text field of the editorial mutations: stored as documented, or
rejected cleanly; the pages built from them stay inert."""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from hypothesis import event, example, given, note
from hypothesis import strategies as st

from content.document import body_plain
from content.markup import MarkupError, parse_markup
from tests.conftest import Api
from tests.server.fuzz.fields import (
    COMPOUND_FIELDS,
    COMPOUND_OUT,
    CONDITION_FIELDS,
    CONDITION_OUT,
    CREATE_COMPOUND,
    CREATE_CONDITION,
    CREATE_EVIDENCE,
    EVIDENCE_FIELDS,
    EVIDENCE_OUT,
    PAGE,
    SECTION_KEYS,
    SECTION_TARGETS,
    TARGETS,
    UPDATE_SECTION,
    UPDATES,
    allowed,
    compound_input,
    folded,
    patch,
    serials,
    stored,
    strip,
)
from tests.server.fuzz.pages import INVISIBLE_SET, MAY_STAY, Editor, assert_cleaned, unseen
from tests.server.fuzz.settings import (
    FACT_COMPOUND,
    FACT_CONDITION,
    FACT_REVIEW,
    SECTION_REVIEW,
    fuzz,
)
from tests.server.fuzz.strategies import text_values

# Display names (README: Catalog files): cleaned, NFKC, and the name rules' refusals.
NAME_FIELDS = {"name", "drugClass", "aliases", "specialist", "fullName"}
NAME_FIELDS |= {"advisorName", "advisorCredentials"}
NAME_RULES = re.compile(r"letters in one word|cannot show reliably|the same name as")


def rejected(payload: dict[str, Any]) -> bool:
    """True for a clean BAD_USER_INPUT with its problems, False for a success."""
    if not payload.get("errors"):
        return False
    (error,) = payload["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT", error
    problems = error["extensions"].get("problems")
    assert problems and all(p["path"] and p["message"] for p in problems), error
    # A field error (data: null) or a request refused before execution (no data at all:
    # text no database can hold, such as NUL or a lone surrogate).
    assert payload.get("data") is None, payload
    return True


# What a change of a fact came to: the record as stored (None when rejected), the answer,
# the fields' rules and the page that shows the fact.
Outcome = tuple[dict[str, Any] | None, dict[str, Any], dict[str, Any], str]


async def create_compound(ed: Editor, field: str, value: str, serial: int) -> Outcome:
    fields, slug = COMPOUND_FIELDS, f"fuzz-compound-{serial}"
    result = await ed.run(CREATE_COMPOUND, {"i": compound_input(slug, patch(fields, field, value))})
    record = None if rejected(result) else result["data"]["createCompound"]["compound"]
    reread = await ed.data(f'{{ compound(slug: "{slug}") {{ {COMPOUND_OUT} }} }}')
    assert reread["compound"] == record
    if record is None:
        return record, result, fields, FACT_REVIEW
    await ed.data(
        "mutation { createEvidence(input: "
        f'{{compound: "{slug}", condition: "als", research: LIMITED}}) {{ evidence {{ revision }} }} }}'
    )
    return record, result, fields, f"{slug}--als"


async def create_condition(ed: Editor, field: str, value: str, serial: int) -> Outcome:
    fields, slug = CONDITION_FIELDS, f"fuzz-condition-{serial}"
    record_in = {"slug": slug, "name": f"Fuzzitis {serial}", "specialist": "fuzz specialist"}
    result = await ed.run(CREATE_CONDITION, {"i": {**record_in, **patch(fields, field, value)}})
    record = None if rejected(result) else result["data"]["createCondition"]["condition"]
    reread = await ed.data(f'{{ condition(slug: "{slug}") {{ {CONDITION_OUT} }} }}')
    assert reread["condition"] == record
    if record is None:
        return record, result, fields, FACT_REVIEW
    await ed.data(
        "mutation { createEvidence(input: "
        f'{{compound: "ketamine", condition: "{slug}", research: SPECIFIC}}) {{ evidence {{ revision }} }} }}'
    )
    return record, result, fields, f"ketamine--{slug}"


async def create_evidence(ed: Editor, field: str, value: str, serial: int) -> Outcome:
    fields, compound = EVIDENCE_FIELDS, f"fuzz-evidence-{serial}"
    await ed.data(CREATE_COMPOUND, {"i": compound_input(compound)})
    record_in = {"compound": compound, "condition": "als", "research": "LIMITED"}
    result = await ed.run(CREATE_EVIDENCE, {"i": {**record_in, **patch(fields, field, value)}})
    record = None if rejected(result) else result["data"]["createEvidence"]["evidence"]
    reread = await ed.data(
        f'{{ review(slug: "{compound}--als") {{ evidence {{ {EVIDENCE_OUT} }} }} }}'
    )
    assert (reread["review"] and reread["review"]["evidence"]) == record
    return record, result, fields, FACT_REVIEW if record is None else f"{compound}--als"


async def update_fact(ed: Editor, target: str, field: str, value: str) -> Outcome:
    read, change, fields, key = UPDATES[target]

    async def current() -> dict[str, Any]:
        data = await ed.data(read)
        return data["review"]["evidence"] if "review" in data else data[key]  # type: ignore[no-any-return]

    before = await current()
    result = await ed.run(change, {"r": before["revision"], "p": patch(fields, field, value)})
    record = None if rejected(result) else result["data"][target][key]
    assert await current() == (before if record is None else record)
    if target == "updatePublisher" and record is not None:
        # The byline is on every page; past the inline limit a draft waits for
        # regeneration: make sure this one is current.
        await ed.data(
            f'mutation {{ generateReview(compound: "{FACT_COMPOUND}", '
            f'condition: "{FACT_CONDITION}") {{ review {{ revision }} }} }}'
        )
    return record, result, fields, FACT_REVIEW


CREATES = {
    "createCompound": create_compound,
    "createCondition": create_condition,
    "createEvidence": create_evidence,
}


def assert_name_stored(rule: str, value: str, name: str | None, result: dict[str, Any]) -> None:
    """Names are stored cleaned and NFKC (README: Catalog files, names); the name rules
    may refuse what the line rules accept, and say so."""
    said = "stored" if name is not None else "rejected"
    expect = strip(unicodedata.normalize("NFKC", unseen(value)))
    problems = [] if name is not None else result["errors"][0]["extensions"]["problems"]
    if name is None and allowed(rule, expect):
        assert all(NAME_RULES.search(p["message"]) for p in problems), problems
    else:
        assert (name is not None) == allowed(rule, expect), f"{value[:200]!r} was {said}"
    if name is not None:
        assert name == unicodedata.normalize("NFKC", name), repr(name)
        assert all(c not in INVISIBLE_SET or c in MAY_STAY for c in name), repr(name)
        assert strip(unseen(name)) == expect, f"{name!r} for {value[:200]!r}"


async def fuzz_facts(ed: Editor, target: str, field: str, value: str) -> None:
    if target in CREATES:
        changed = await CREATES[target](ed, field, value, next(serials))
    else:
        changed = await update_fact(ed, target, field, value)
    record, result, fields, page = changed
    rule, _is_list, printed = fields[field]
    event(f"{target}.{field}: {'stored' if record else 'rejected'}")
    said = "stored" if record else "rejected"
    if field in NAME_FIELDS:
        name = stored(fields, field, record) if record is not None else None
        assert_name_stored(rule, value, name, result)
    else:
        assert (record is not None) == allowed(rule, value), f"{value[:200]!r} was {said}"
        if record is not None:
            assert stored(fields, field, record) == strip(value)
    shown = folded(stored(fields, field, record)) if record is not None and printed else ""
    await ed.check_page(page, shown)


async def fuzz_section(ed: Editor, field: str, value: str, key: str) -> None:
    sections = (await ed.data(PAGE, {"slug": SECTION_REVIEW}))["review"]["sections"]
    section = next(s for s in sections if s["key"] == key)
    args = {"body": value} if field == "body" else {"body": "Edited.", "heading": value}
    result = await ed.run(
        UPDATE_SECTION, {"s": SECTION_REVIEW, "k": key, "r": section["revision"], **args}
    )
    record = None if rejected(result) else result["data"]["updateSection"]["section"]
    event(f"updateSection.{field}: {'stored' if record else 'rejected'}")
    if field == "heading":
        valid = (
            len(value) <= 300
            and len(unicodedata.normalize("NFC", value)) <= 300
            and not re.search(r"[\x00-\x1f\x7f]", value)
        )
        assert (record is not None) == valid, f"heading {value[:200]!r}"
        if record is not None:
            assert_cleaned(record["heading"], value)
    else:
        control = re.search(r"[\x00-\x08\x0b-\x1f\x7f]", value)
        if len(value) > 20_000 or control:
            assert record is None, f"{value[:200]!r} was stored"
        try:
            expected = body_plain(parse_markup(unseen(value).replace("\r\n", "\n")))
        except MarkupError:
            expected = None
        if record is not None:
            assert expected is not None, f"{value[:200]!r} was stored"
            assert_cleaned(record["plain"], expected)
        elif expected and not control and len(value) <= 20_000 and key in ("CTA", "FAQ"):
            raise AssertionError(f"{value[:200]!r} was refused: {result}")
    await ed.check_page(SECTION_REVIEW)


EXPLICIT = [
    # The classic payloads, every run, whatever the generator draws.
    (("updateCompound", "name"), "<script>alert(1)</script>", "INTRO"),
    (("updateCompound", "drugClass"), '"><img src=x onerror=alert(1)>', "INTRO"),
    (("updateCondition", "specialist"), "  [x](javascript:alert(1))  ", "INTRO"),
    (("updatePublisher", "notice"), "**not bold** <svg onload=alert(1)>\n- not a list", "INTRO"),
    (("updatePublisher", "cta"), "Q: question?\nA: <a href=javascript:alert(1)>x</a>", "INTRO"),
    (("createCondition", "name"), "\u202eevil مرحبا 👩🏽\u200d⚕️ e\u0301", "INTRO"),
    (("updateEvidence", "notes"), "z" * 5001, "INTRO"),
    (("updateSection", "body"), "Q: <script>x</script>?\nA: [x](javascript:alert(1))", "FAQ"),
    (("updateSection", "body"), "- **<b>Lead:</b>** ![x](javascript:alert(1))", "LITERATURE"),
    (("updateSection", "heading"), "<img src=x onerror=alert(1)>", "INTRO"),
    (("updateSection", "body"), " \t\n ", "DISCLAIMER"),
    # Names: a look-alike letter, invisible characters, compatibility forms.
    (("createCompound", "name"), "Ket\u0430mine", "INTRO"),
    (("updateCondition", "name"), "\u202eAL\u200bS\u202c", "INTRO"),
    (("updatePublisher", "advisorName"), "Dr.\u00a0\uff21da \ufb01ctional", "INTRO"),
    (("updateSection", "body"), "It cu\u200bres.\n\n- Platelets 150\u00d710\u2079/L", "INTRO"),
]


def _examples(test: Any) -> Any:
    for target, value, key in EXPLICIT:
        test = example(target=target, value=value, key=key)(test)
    return test


@fuzz(60)
@_examples
@given(
    target=st.sampled_from(TARGETS) | st.sampled_from(SECTION_TARGETS),
    value=text_values(),
    key=st.sampled_from(SECTION_KEYS),
)
async def test_text_fields_are_stored_exactly_and_render_inert(
    api: Api, editor: str, target: tuple[str, str], value: str, key: str
) -> None:
    mutation, field = target
    note(f"{mutation}.{field} = {value[:300]!r} (section {key})")
    ed = Editor(api, editor)
    if mutation == "updateSection":
        await fuzz_section(ed, field, value, key)
    else:
        await fuzz_facts(ed, mutation, field, value)

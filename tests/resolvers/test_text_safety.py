"""Unicode hygiene (resolvers/text_safety.py) and the content check that reads through it."""

from __future__ import annotations

import unicodedata

import pytest

from content import document
from content.claims import check_sections
from content.markup import parse_markup
from content.text_safety import clean_name, clean_text, for_check, name_key, name_problem


def findings(text: str, heading: str | None = None) -> set[str]:
    section = document.Section("INTRO", 0, heading, parse_markup(text), "EDITED")
    return {f.id for f in check_sections([section])}


# --- the content check (item 7) --------------------------------------------------------------


@pytest.mark.parametrize(
    "text, expected",
    [
        ("cu\u200bres", {"INTRO/ABSOLUTE_CLAIM/cures"}),
        ("completely s\u200bafe", {"INTRO/ABSOLUTE_CLAIM/completely safe"}),
        (
            "Ta\u200bke 50\u200b mg twice a d\u200bay",
            {"INTRO/DOSING/take 50", "INTRO/DOSING/50 mg", "INTRO/DOSING/twice a day"},
        ),
        ("risk\u2011free", {"INTRO/ABSOLUTE_CLAIM/risk-free"}),
        ("mir\u00adacle", {"INTRO/ABSOLUTE_CLAIM/miracle"}),
        ("no side\u00a0effects", {"INTRO/ABSOLUTE_CLAIM/no side effects"}),
        # Other invisible characters: joiners, bidi controls, word joiner, BOM, tags,
        # variation selectors, the combining grapheme joiner, Hangul fillers.
        ("c\u200du\u200cr\u2060e\ufeffs", {"INTRO/ABSOLUTE_CLAIM/cures"}),
        ("\u202eguaranteed\u202c", {"INTRO/ABSOLUTE_CLAIM/guaranteed"}),
        ("mi\U000e0041racle mir\ufe0facle", {"INTRO/ABSOLUTE_CLAIM/miracle"}),
        ("cu\u034fres", {"INTRO/ABSOLUTE_CLAIM/cures"}),
        ("risk\u3164free", {"INTRO/ABSOLUTE_CLAIM/risk free"}),  # a blank Hangul filler
        # Dashes, spaces and compatibility forms.
        ("risk\u2014free risk\u2212free", {"INTRO/ABSOLUTE_CLAIM/risk-free"}),
        ("no side\u2010effects", {"INTRO/ABSOLUTE_CLAIM/no side-effects"}),
        ("no\u202fside\u2007effects", {"INTRO/ABSOLUTE_CLAIM/no side effects"}),
        ("\uff23\uff35\uff32\uff25\uff33", {"INTRO/ABSOLUTE_CLAIM/cures"}),
        ("proven to w\u200bork", {"INTRO/ABSOLUTE_CLAIM/proven to work"}),
        ("50\u00a0mg", {"INTRO/DOSING/50 mg"}),
        ("5 \u00b5g", {"INTRO/DOSING/5 \u03bcg"}),
        ("It\u2019s safe", {"INTRO/ABSOLUTE_CLAIM/it's safe"}),
        # Look-alike letters from other scripts in a Latin word.
        ("Ketamine \u0441ures ALS", {"INTRO/ABSOLUTE_CLAIM/cures"}),
        ("\u03bfnce a day", {"INTRO/DOSING/once a day"}),
        ("m\u0131racle", {"INTRO/ABSOLUTE_CLAIM/miracle"}),
    ],
)
def test_hidden_claims_are_found(text: str, expected: set[str]) -> None:
    assert findings(text) == expected


def test_plain_text_findings_keep_their_ids() -> None:
    text = "Ketamine is completely safe and cures ALS. Take 50 mg twice a day."
    assert findings(text) == {
        "INTRO/ABSOLUTE_CLAIM/is completely safe",
        "INTRO/ABSOLUTE_CLAIM/cures",
        "INTRO/DOSING/take 50",
        "INTRO/DOSING/50 mg",
        "INTRO/DOSING/twice a day",
    }


def test_headings_are_read_the_same_way() -> None:
    assert findings("Plain.", heading="Why it is s\u200bafe") == {"INTRO/ABSOLUTE_CLAIM/it is safe"}


def test_excerpts_show_the_text_as_read() -> None:
    section = document.Section("INTRO", 0, None, parse_markup("It cu\u200bres."), "EDITED")
    (finding,) = check_sections([section])
    assert finding.excerpt == "It cures."


def test_real_greek_and_cyrillic_text_is_not_folded() -> None:
    assert for_check("\u039a\u03b1\u03bb\u03ae \u03bf\u03b4\u03cc\u03c2") == (
        "\u039a\u03b1\u03bb\u03ae \u03bf\u03b4\u03cc\u03c2"
    )
    assert for_check("\u0441\u0443\u043f") == "\u0441\u0443\u043f"
    assert for_check("TNF\u03b1 and NF-\u03baB") == "TNF\u03b1 and NF-\u03baB"


# --- stored text -----------------------------------------------------------------------------


def test_clean_text_drops_invisible_characters() -> None:
    assert clean_text("\ufeffKeta\u200bmine\u2060 \u202eis\u202c\u00ad here\u200e") == (
        "Ketamine is here"
    )
    assert clean_text("cu\u034fres \u3164") == "cures "


def test_clean_text_keeps_medical_notation_and_visible_spaces() -> None:
    # NFKC would make 10⁹/L "109/L" and m² "m2": stored text is NFC only.
    for text in ("150\u00d710\u2079/L", "1.5\u00a0mg/m\u00b2", "\u00bd tablet", "\ufb01ne"):
        assert clean_text(text) == text
    assert clean_text("e\u0301") == "\u00e9"


@pytest.mark.parametrize(
    "text",
    [
        "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645",  # Persian: ZWNJ between letters
        "\u0915\u094d\u200d\u0937",  # Devanagari: ZWJ after a virama
        "\U0001f469\U0001f3fd\u200d\u2695\ufe0f",  # an emoji ZWJ sequence
        "\u845b\U000e0100",  # an ideographic variation sequence
    ],
)
def test_clean_text_keeps_joiners_a_script_or_emoji_needs(text: str) -> None:
    assert clean_text(text) == text


def test_clean_text_is_idempotent() -> None:
    for text in ("a\u200db", "\u0915\u094d\u200d\u0937", "x\ufe0f", "e\u200b\u0301"):
        once = clean_text(text)
        assert clean_text(once) == once


# --- names (item 18) -------------------------------------------------------------------------


def test_clean_name_normalises_compatibility_forms() -> None:
    assert clean_name("\u202eKeta\u200bmine\u202c \ufb01ne\u00a0form") == "Ketamine fine form"
    assert clean_name("\uff2b\uff45tamine") == "Ketamine"
    assert clean_name("Vitamin B\u2081\u2082") == "Vitamin B12"
    name = clean_name("\U0001f469\U0001f3fd\u200d\u2695\ufe0f e\u0301")
    assert name == unicodedata.normalize("NFKC", name) and "\u200d" in name


@pytest.mark.parametrize(
    "name, scripts",
    [
        ("Ket\u0430mine", ("Cyrillic", "Latin")),
        ("\u041aetamine", ("Cyrillic", "Latin")),
        ("Ket\u0391mine", ("Greek", "Latin")),  # Greek capital alpha
        ("Ket\u03bfmine", ("Greek", "Latin")),  # Greek omicron
        ("\u0627\u0644a", ("Arabic", "Latin")),
        ("\u0430\u03b2", ("Cyrillic", "Greek")),
    ],
)
def test_mixed_scripts_within_a_word_are_refused(name: str, scripts: tuple[str, str]) -> None:
    problem = name_problem(name)
    assert problem is not None
    assert f"mixes {scripts[0]} and {scripts[1]} letters in one word ('{name}')" in problem


@pytest.mark.parametrize(
    "name",
    [
        "Ketamine (IV / Esketamine)",
        "NF-\u03baB Inhibitor",
        "TNF\u03b1 blocker",
        "5\u03b1-reductase inhibitor",
        "\u03b2-blocker",
        "Insomnia (\u0431\u0435\u0441\u0441\u043e\u043d\u043d\u0438\u0446\u0430)",
        "\u30b1\u30bf\u30df\u30f3\u9320",  # Katakana and Han
        "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645",
        "MD (fictional)",
        "O'Brien-Smith",
    ],
)
def test_ordinary_names_are_accepted(name: str) -> None:
    assert name_problem(clean_name(name)) is None


@pytest.mark.parametrize(
    "name, what",
    [
        ("Keta\ue000mine", "U+E000"),
        ("Keta\x85mine", "U+0085"),
        ("Keta\u2028mine", "U+2028"),
        ("Keta\U000e01f0mine", None),  # invisible: dropped, not refused
    ],
)
def test_characters_a_name_cannot_show_are_refused(name: str, what: str | None) -> None:
    problem = name_problem(clean_name(name))
    if what is None:
        assert problem is None and clean_name(name) == "Ketamine"
    else:
        assert problem is not None and what in problem


def test_name_keys_ignore_case_spacing_invisibles_and_look_alikes() -> None:
    key = name_key("Ketamine (IV / Esketamine)")
    for same in (
        "KETAMINE  (IV / Es\u200bketamine)",
        "ketamine (iv / esketamine) ",
        "\uff2betamine (IV / Esketamine)",
        "Ketam\u0131ne (IV / Esketamine)",
        "Ketamine (IV\u00a0/ Esketamine)",
    ):
        assert name_key(same) == key, same
    assert name_key("Ketamine (IV)") != key

"""Unicode hygiene for text people type: what the content check reads, what is stored.

Pure functions, no I/O. Three views of a text:

* ``clean_text``: editors' section text as stored. Invisible characters (Unicode
  format characters, category Cf, and the other default-ignorable code points:
  zero-width space and joiners, soft hyphen, bidi controls, word joiner, BOM,
  tags, variation selectors, Hangul fillers...) are dropped, except the joiners and
  variation selectors a script or an emoji needs; then NFC. Not NFKC: compatibility
  folding corrupts medical notation ("10⁹/L" would read "109/L", "mg/m²" "mg/m2").
* ``clean_name``: display names as stored: ``clean_text``, then NFKC (full-width
  letters, ligatures, sub- and superscripts become plain letters and digits).
  ``name_problem`` says what a name cannot be made safe from (letters of two
  scripts within one word, unprintable characters) and ``name_key`` is what two
  names must not share (case, spacing, invisibles and look-alike letters ignored).
* ``for_check``: what the content check reads: every invisible character dropped,
  NFKC, dashes, apostrophes and spaces as ASCII, and letters from other scripts that
  pass for Latin ones (a Cyrillic 'с' in "сures") read as those.
"""

from __future__ import annotations

import re
import unicodedata

# Default-ignorable code points outside category Cf (DerivedCoreProperties.txt).
_IGNORABLE_RANGES = (
    (0x034F, 0x034F),  # combining grapheme joiner
    (0x115F, 0x1160),  # Hangul choseong / jungseong fillers
    (0x17B4, 0x17B5),  # Khmer inherent vowels
    (0x180B, 0x180F),  # Mongolian variation selectors and vowel separator
    (0x3164, 0x3164),  # Hangul filler
    (0xFE00, 0xFE0F),  # variation selectors
    (0xFFA0, 0xFFA0),  # half-width Hangul filler
    (0xFFF0, 0xFFF8),
    (0xE0000, 0xE0FFF),  # tags, variation selectors supplement
)
# Fillers that render as a blank: the check reads them as a space.
_BLANK_FILLERS = (0x115F, 0x1160, 0x3164, 0xFFA0)
_VARIATION_SELECTORS = ((0xFE00, 0xFE0F), (0xE0100, 0xE01EF))
_ZWNJ, _ZWJ = "\u200c", "\u200d"
_VIRAMA = 9  # canonical combining class of viramas (Indic conjuncts)
# Scripts whose words never need a joiner between their letters.
_PLAIN_SCRIPTS = frozenset({"LATIN", "GREEK", "CYRILLIC"})
_CJK = frozenset({"CJK", "HIRAGANA", "KATAKANA", "HANGUL", "BOPOMOFO"})
_SCRIPT_NAMES = {"CJK": "Han"}


def _build_tables() -> tuple[frozenset[int], dict[int, str]]:
    invisible: set[int] = set()
    ascii_map: dict[int, str] = {}
    # Format characters live in planes 0, 1 and 14 (scanned, so that the table follows
    # the Unicode version of the running Python).
    for cp in (*range(0x20000), *range(0xE0000, 0xE1000)):
        category = unicodedata.category(chr(cp))
        if category == "Cf":
            invisible.add(cp)
        elif category == "Pd":
            ascii_map[cp] = "-"
        elif category == "Zs" and cp != 0x20:
            ascii_map[cp] = " "
    for low, high in _IGNORABLE_RANGES:
        invisible.update(range(low, high + 1))
    for cp in (0x2212, 0x2043, 0xFE63, 0xFF0D):  # minus sign, hyphen bullet, small/full-width
        ascii_map[cp] = "-"
    for cp in (0x2018, 0x2019, 0x201B, 0x2032, 0x02BC, 0xFF07):  # apostrophes and primes
        ascii_map[cp] = "'"
    ascii_map.pop(0x2D, None)
    return frozenset(invisible), ascii_map


_INVISIBLE, _ASCII_MAP = _build_tables()
_DROP_ALL: dict[int, str | None] = {cp: None for cp in _INVISIBLE}
_DROP_FOR_CHECK: dict[int, str | None] = {**_DROP_ALL, **{cp: " " for cp in _BLANK_FILLERS}}

# Letters that pass for Latin ones: Cyrillic and Greek homoglyphs, and Latin oddities
# (dotless i, small capitals) that read as plain letters.
_CYRILLIC = "аaвBеeкKмMнHоoрpсcтTуyхxѕsіiјjԁdԛqԝwһhӏlүyѵv"
_CYRILLIC += "АAВBЕEКKМMНHОOРPСCТTХXУYЅSІIЈJԀDԚQԜWҺHӀlҮYѴV"
_GREEK_LATIN = "ΑAΒBΕEΖZΗHΙIΚKΜMΝNΟOΡPΤTΥYΧXοoνvιiρpυuϲcϳj"
_LATIN_ODD = "ıiȷjɑaɡgɩiᴀaʙbᴄcᴅdᴇeꜰfɢgʜhɪiᴊjᴋkʟlᴍmɴnᴏoᴘpʀrꜱsᴛtᴜuᴠvᴡwʏyᴢz"


def _pairs(spec: str) -> dict[str, str]:
    return {spec[i]: spec[i + 1] for i in range(0, len(spec), 2)}


_LOOKALIKE = _pairs(_CYRILLIC + _GREEK_LATIN + _LATIN_ODD)
_LOOKALIKE_TABLE = str.maketrans(_LOOKALIKE)
# Greek letters a Latin word may carry as scientific symbols (κB, TNFα) unless they
# are one of these look-alikes.
_GREEK_LOOKS_LATIN = frozenset(_pairs(_GREEK_LATIN))
_WORD = re.compile(r"[^\W\d_]+")


def _in(ch: str, ranges: tuple[tuple[int, int], ...]) -> bool:
    return any(low <= ord(ch) <= high for low, high in ranges)


def script(ch: str) -> str | None:
    """The script of a letter (the first word of its Unicode name), else None."""
    if not unicodedata.category(ch).startswith("L") or unicodedata.category(ch) == "Lm":
        return None
    head = unicodedata.name(ch, "").split(" ", 1)[0]
    return head or None


def _script_of_sign(ch: str | None) -> str | None:
    """The script of a letter or of a sign attached to one (its compatibility form's)."""
    if not ch:
        return None
    base = unicodedata.normalize("NFKC", ch)[:1] or ch
    if unicodedata.category(base).startswith("M"):
        head = unicodedata.name(base, "").split(" ", 1)[0]
        return None if head == "COMBINING" else head or None
    return script(base)


def _emoji(ch: str | None) -> bool:
    return ch is not None and (
        unicodedata.category(ch) == "So"
        or 0x1F3FB <= ord(ch) <= 0x1F3FF  # skin tone modifiers
        or ch == "\ufe0f"
    )


def _needed(prev: str | None, ch: str, nxt: str | None) -> bool:
    """Whether an invisible character is part of how a script or an emoji is written."""
    if ch in (_ZWNJ, _ZWJ):
        if prev and unicodedata.combining(prev) == _VIRAMA:
            return True
        here = _script_of_sign(prev)
        if here and here not in _PLAIN_SCRIPTS and here == _script_of_sign(nxt):
            return True  # e.g. a Persian ZWNJ between two Arabic letters
        return ch == _ZWJ and _emoji(prev) and _emoji(nxt)
    if _in(ch, _VARIATION_SELECTORS):
        if _emoji(prev) and ch == "\ufe0f":
            return True
        return _script_of_sign(prev) in _CJK  # ideographic variation sequences
    return False


def clean_text(text: str) -> str:
    """Text as stored: invisible characters dropped (bar those a script needs), NFC."""
    if text.translate(_DROP_ALL) != text:
        out: list[str] = []
        for i, ch in enumerate(text):
            if ord(ch) not in _INVISIBLE or _needed(
                out[-1] if out else None, ch, text[i + 1] if i + 1 < len(text) else None
            ):
                out.append(ch)
        text = "".join(out)
    return unicodedata.normalize("NFC", text)


def clean_name(text: str) -> str:
    """A display name as stored: ``clean_text`` and NFKC."""
    return unicodedata.normalize("NFKC", clean_text(text))


def _fold_word(match: re.Match[str]) -> str:
    word = match.group(0)
    if word.isascii() or not any(ch in _LOOKALIKE for ch in word):
        return word
    # Fold a word that has Latin letters, or consists of look-alikes only; real Greek
    # or Cyrillic words stay as they are.
    if any(script(ch) == "LATIN" for ch in word) or all(ch in _LOOKALIKE for ch in word):
        return word.translate(_LOOKALIKE_TABLE)
    return word


def for_check(text: str) -> str:
    """The text as the content check reads it (see the module's docstring)."""
    if text.isascii():
        return text
    text = unicodedata.normalize("NFKC", text.translate(_DROP_FOR_CHECK))
    text = text.translate(_DROP_ALL).translate(_ASCII_MAP)
    return _WORD.sub(_fold_word, text)


_UNSHOWABLE = {
    "Cc": "a control character",
    "Co": "a private-use character",
    "Cn": "an unassigned code point",
    "Cs": "a lone surrogate",
    "Zl": "a line separator",
    "Zp": "a paragraph separator",
}


def _display(script_name: str) -> str:
    return _SCRIPT_NAMES.get(script_name, script_name.title())


def name_problem(name: str) -> str | None:
    """Why a (cleaned) name cannot be stored, or None."""
    for ch in name:
        what = _UNSHOWABLE.get(unicodedata.category(ch))
        if what:
            return f"contains U+{ord(ch):04X} ({what}), which a name cannot show reliably"
    for word in _WORD.findall(name):
        scripts = {s for s in map(script, word) if s}
        if len(scripts) < 2 or scripts - {"LATIN"} <= _CJK:
            continue
        if scripts == {"LATIN", "GREEK"} and not any(ch in _GREEK_LOOKS_LATIN for ch in word):
            continue  # Greek letters as scientific symbols: NF-κB, TNFα
        first, second = sorted(_display(s) for s in scripts)[:2]
        return (
            f"mixes {first} and {second} letters in one word ('{word}'), so it can pass for "
            "another name; write each word in one script"
        )
    return None


def name_key(name: str) -> str:
    """What two display names must not share: case, spacing, invisible characters,
    compatibility forms and look-alike letters do not tell names apart."""
    return " ".join(for_check(clean_name(name)).casefold().split())

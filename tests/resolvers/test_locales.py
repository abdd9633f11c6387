"""Locale configuration (config.py) and localized fields (content/locales.py)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from config import Settings, locale_tag
from content.locales import Locales, UnknownLocale, localize


def settings(monkeypatch: pytest.MonkeyPatch, locales: str, fallbacks: str = "") -> Settings:
    """Settings as the environment gives them (the strings of the README's examples)."""
    monkeypatch.setenv("COMPENDIUM_LOCALES", locales)
    monkeypatch.setenv("COMPENDIUM_LOCALE_FALLBACKS", fallbacks)
    return Settings()


def refused(monkeypatch: pytest.MonkeyPatch, locales: str, fallbacks: str = "") -> str:
    with pytest.raises(ValidationError) as info:
        settings(monkeypatch, locales, fallbacks)
    return str(info.value)


def test_default_is_english_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COMPENDIUM_LOCALES", raising=False)
    monkeypatch.delenv("COMPENDIUM_LOCALE_FALLBACKS", raising=False)
    s = Settings()
    assert (s.locales, s.locale_fallbacks, s.default_locale) == (["en"], {}, "en")
    assert s.locale_chains == {"en": ["en"]}


def test_chains_end_in_the_default_locale(monkeypatch: pytest.MonkeyPatch) -> None:
    s = settings(monkeypatch, "en, es ,de,es-MX,fr", "es-mx:es,de:en")
    assert s.locales == ["en", "es", "de", "es-MX", "fr"]
    assert s.locale_fallbacks == {"es-MX": "es", "de": "en"}
    assert s.locale_chains == {
        "en": ["en"],
        "es": ["es", "en"],
        "de": ["de", "en"],
        "es-MX": ["es-MX", "es", "en"],
        "fr": ["fr", "en"],
    }
    locales = Locales(s.locale_chains)
    assert (locales.default, locales.translated) == ("en", ["es", "de", "es-MX", "fr"])
    assert locales.chain("es-MX") == ["es-MX", "es", "en"]
    with pytest.raises(UnknownLocale, match="unknown locale 'it'"):
        locales.chain("it")


def test_the_first_locale_is_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    s = settings(monkeypatch, "de,en", "en:de")
    assert s.default_locale == "de"
    assert s.locale_chains == {"de": ["de"], "en": ["en", "de"]}


@pytest.mark.parametrize(
    ("locales", "fallbacks", "message"),
    [
        ("en,es_MX", "", "'es_MX' is not a BCP 47 language tag"),
        ("english", "", "'english' is not a BCP 47 language tag"),
        ("", "", "at least one locale is required"),
        ("en,es,ES", "", "locale listed twice: es"),
        ("en,es", "es", "'es' is not 'locale:fallback'"),
        ("en,es", "es:en:de", "is not 'locale:fallback'"),
        ("en,es", "es:de", "names 'de', which is not in COMPENDIUM_LOCALES (en,es)"),
        ("en,es", "en:es", "the default locale 'en' cannot fall back"),
        ("en,es,es-MX", "es:es-MX,es-MX:es", "fallback cycle: es -> es-MX -> es"),
        ("en,es", "es:es", "fallback cycle: es -> es"),
        ("en,es,de", "es:en,es:de", "two fallbacks for 'es'"),
    ],
)
def test_bad_configuration_is_a_clear_startup_error(
    monkeypatch: pytest.MonkeyPatch, locales: str, fallbacks: str, message: str
) -> None:
    assert message in refused(monkeypatch, locales, fallbacks)


def test_tags_are_written_in_their_canonical_case() -> None:
    assert locale_tag("ES-mx") == "es-MX"
    assert locale_tag("zh-hant-tw") == "zh-Hant-TW"
    assert locale_tag("es-419") == "es-419"
    assert locale_tag("sl-ROZAJ") == "sl-rozaj"
    for bad in ("e", "en-", "en_US", "x-private", "en-US-", 5, None):
        with pytest.raises(ValueError, match="not a BCP 47 language tag"):
            locale_tag(bad)


KETAMINE = {
    "slug": "ketamine",
    "name": "Ketamine",
    "drug_class": "NMDA antagonist",
    "aliases": ["Ketalar"],
    "safety_profile": ["Dissociation"],
}
TRANSLATIONS = {
    "es": {"name": "Ketamina", "aliases": ["Ketalar (es)"]},
    "es-MX": {"name": "Ketamina (MX)"},
}


def test_localize_takes_each_field_along_the_chain() -> None:
    fields = ["name", "aliases", "drug_class", "safety_profile"]
    mx = localize(KETAMINE, TRANSLATIONS, ["es-MX", "es", "en"], fields)
    assert mx.values == {
        "slug": "ketamine",
        "name": "Ketamina (MX)",
        "aliases": ["Ketalar (es)"],
        "drug_class": "NMDA antagonist",
        "safety_profile": ["Dissociation"],
    }
    assert mx.fell_back == ["aliases", "drug_class", "safety_profile"]
    assert mx.sources == {
        "name": "es-MX",
        "aliases": "es",
        "drug_class": "en",
        "safety_profile": "en",
    }
    es = localize(KETAMINE, TRANSLATIONS, ["es", "en"], fields)
    assert (es.values["name"], es.fell_back) == ("Ketamina", ["drug_class", "safety_profile"])


def test_the_default_locale_never_falls_back() -> None:
    en = localize(KETAMINE, TRANSLATIONS, ["en"], ["name", "aliases"])
    assert (en.values, en.fell_back) == (KETAMINE, [])
    # A locale without any translation: every field given falls back to the default.
    de = localize(KETAMINE, {}, ["de", "en"], ["name", "drug_class"])
    assert (de.values, de.fell_back) == (KETAMINE, ["name", "drug_class"])


def test_localize_defaults_to_the_translated_fields_and_skips_missing_values() -> None:
    record = {"name": "ALS", "full_name": None}
    out = localize(record, {"es": {"name": "ELA"}}, ["es", "en"])
    assert (out.values, out.fell_back) == ({"name": "ELA", "full_name": None}, [])
    # full_name has no value in any locale: it is left as it is, not counted.
    out = localize(record, {"es": {"name": "ELA"}}, ["es", "en"], ["name", "full_name"])
    assert (out.values["full_name"], out.fell_back) == (None, [])

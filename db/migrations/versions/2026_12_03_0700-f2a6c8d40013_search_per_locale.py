"""search per locale: each row of the index knows its locale; translated names indexed

README "Locales" (search). The index keeps what readers may find, now per locale:

* a review's row carries the page's ``locale``; a page in another locale than the
  default one (COMPENDIUM_LOCALES' first tag at upgrade time, as for the
  reviews_per_locale migration) is apart from the default locale's pages: on SQLite its
  rowid is negative (the default locale's search reads ``rowid > 0`` only, so its results
  and their cost stay as they were), on PostgreSQL it is found by ``locale``;
* the approved compounds and conditions keep their row (``locale`` '': every locale
  finds them by their approved names), and each approved translation of their names
  (``public_translation``: name, aliases, drug class or full name of
  ``fact_version.facts["translations"][locale]``) gets a row of that locale;
* SQLite: FTS5's ``unicode61 remove_diacritics 2`` as before (an accent typed or not
  matches). Translated names get rowids ``-(code * 2^40 + record_id * 4 + offset)``,
  ``code`` the locale's number in ``search_index_locale`` (an INTEGER PRIMARY KEY, kept by
  VACUUM, unlike ``public_translation``'s own rowid);
* PostgreSQL: each row has a text-search configuration, ``simple`` for the default
  locale's pages and the approved names (as before), the language's for a translation
  (``search_config``: ``es`` -> ``spanish``...), and every text is folded by
  ``search_fold`` (lower case, Latin accents removed with ``translate``: immutable, so it
  can feed the generated ``document``, and needs no extension; ``unaccent`` is only
  STABLE and may not be installable where the database is hosted).

The virtual table and its triggers are made again and filled from the ``public_*`` tables.

Revision ID: f2a6c8d40013
Revises: f2c6d8b40013
Create Date: 2026-12-03 07:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

from config import get_settings

revision: str = "f2a6c8d40013"
down_revision: str | None = "f2c6d8b40013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The accents folded on PostgreSQL (lower case only: the text is lowered first), each
# letter of ACCENTED by the letter at the same place in PLAIN: the Latin letters FTS5's
# unicode61 tokenizer folds with remove_diacritics 2.
ACCENTED = "àáâãäåāăąçćĉċčďèéêëēĕėęěĝğġģĥìíîïĩīĭįĵķĺļľñńņňòóôõöōŏőŕŗřśŝşšţťùúûüũūŭůűųŵýÿŷźżž"
PLAIN = "aaaaaaaaacccccdeeeeeeeeegggghiiiiiiiijklllnnnnoooooooorrrsssstt" + "uuuuuuuuuuwyyyzzz"
# Language subtags with a PostgreSQL text-search configuration (pg_ts_config).
CONFIG_PAIRS = (
    "ar:arabic ca:catalan da:danish de:german el:greek en:english es:spanish "
    "eu:basque fi:finnish fr:french ga:irish hi:hindi hu:hungarian hy:armenian "
    "id:indonesian it:italian lt:lithuanian nb:norwegian ne:nepali nl:dutch "
    "no:norwegian pt:portuguese ro:romanian ru:russian sr:serbian sv:swedish ta:tamil "
    "tr:turkish yi:yiddish"
)
CONFIGS = dict(pair.split(":", 1) for pair in CONFIG_PAIRS.split())

# --- SQLite ------------------------------------------------------------------------------------

ALIASES_SQLITE = "coalesce((SELECT group_concat(value, ' ') FROM json_each({r}.aliases)), '')"
# table: (kind, rowid offset, name, aliases, body)
SQLITE_ROWS = {
    "public_compound": (
        "compound",
        1,
        "{r}.name",
        ALIASES_SQLITE,
        "{r}.slug || ' ' || {r}.drug_class",
    ),
    "public_condition": (
        "condition",
        2,
        "{r}.name",
        ALIASES_SQLITE,
        "{r}.slug || ' ' || {r}.full_name",
    ),
}
COLUMNS = "INSERT INTO search_index(rowid, kind, ref_id, name, aliases, body, locale) "
REVIEW_ROWID = "CASE WHEN {r}.locale = '{d}' THEN {r}.id * 4 + 3 ELSE -({r}.id * 4 + 3) END"
# A translated record's rowid: its locale's code, the record and its kind.
TRANSLATION_ROWID = (
    "-((SELECT code FROM search_index_locale WHERE tag = {r}.locale) * 1099511627776 "
    "+ {r}.record_id * 4 + CASE {r}.kind WHEN 'compound' THEN 1 ELSE 2 END)"
)
TRANSLATED = "json_extract(v.facts, '$.translations.\"' || {r}.locale || '\".{field}')"
TRANSLATION_SELECT = (
    "SELECT " + TRANSLATION_ROWID + ", {r}.kind, {r}.record_id, "
    "coalesce(" + TRANSLATED.replace("{field}", "name") + ", ''), "
    "coalesce((SELECT group_concat(value, ' ') FROM json_each(v.facts, '$.translations.\"' "
    "|| {r}.locale || '\".aliases')), ''), "
    "coalesce(CASE {r}.kind WHEN 'compound' THEN "
    + TRANSLATED.replace("{field}", "drug_class")
    + " ELSE "
    + TRANSLATED.replace("{field}", "full_name")
    + " END, ''), {r}.locale "
    "FROM fact_version v WHERE v.id = {r}.version_id"
)
NAMED = "{r}.kind IN ('compound', 'condition')"


def _default() -> str:
    """The default locale (a validated BCP 47 tag: letters, digits and hyphens)."""
    tag = get_settings().default_locale
    assert tag.replace("-", "").isalnum(), tag
    return tag


def _sqlite_values(table: str, r: str) -> str:
    kind, offset, name, aliases, body = SQLITE_ROWS[table]
    return (
        f"{r}.id * 4 + {offset}, '{kind}', {r}.id, {name.format(r=r)}, "
        f"{aliases.format(r=r)}, {body.format(r=r)}, ''"
    )


def _review_values(r: str) -> str:
    return (
        f"{REVIEW_ROWID.format(r=r, d=_default())}, 'review', {r}.id, {r}.title, '', "
        f"{r}.slug, {r}.locale"
    )


def _sqlite_triggers() -> list[str]:
    out = []
    for table, (_, offset, *_rest) in SQLITE_ROWS.items():
        new, old = _sqlite_values(table, "NEW"), f"OLD.id * 4 + {offset}"
        out += [
            f"CREATE TRIGGER search_{table}_ai AFTER INSERT ON {table} BEGIN "
            f"{COLUMNS}VALUES ({new}); END",
            f"CREATE TRIGGER search_{table}_au AFTER UPDATE ON {table} BEGIN "
            f"DELETE FROM search_index WHERE rowid = {old}; {COLUMNS}VALUES ({new}); END",
            f"CREATE TRIGGER search_{table}_ad AFTER DELETE ON {table} BEGIN "
            f"DELETE FROM search_index WHERE rowid = {old}; END",
        ]
    old = REVIEW_ROWID.format(r="OLD", d=_default())
    out += [
        "CREATE TRIGGER search_public_review_ai AFTER INSERT ON public_review BEGIN "
        f"{COLUMNS}VALUES ({_review_values('NEW')}); END",
        "CREATE TRIGGER search_public_review_au AFTER UPDATE ON public_review BEGIN "
        f"DELETE FROM search_index WHERE rowid = {old}; "
        f"{COLUMNS}VALUES ({_review_values('NEW')}); END",
        "CREATE TRIGGER search_public_review_ad AFTER DELETE ON public_review BEGIN "
        f"DELETE FROM search_index WHERE rowid = {old}; END",
    ]
    # (Not INSERT OR IGNORE: the outer statement's conflict policy, an upsert's, would win.)
    locale = (
        "INSERT INTO search_index_locale(tag) SELECT NEW.locale WHERE NOT EXISTS "
        "(SELECT 1 FROM search_index_locale WHERE tag = NEW.locale); "
    )
    new, old = TRANSLATION_SELECT.format(r="NEW"), TRANSLATION_ROWID.format(r="OLD")
    out += [
        "CREATE TRIGGER search_public_translation_ai AFTER INSERT ON public_translation "
        f"WHEN {NAMED.format(r='NEW')} BEGIN {locale}{COLUMNS}{new}; END",
        "CREATE TRIGGER search_public_translation_au AFTER UPDATE ON public_translation "
        f"WHEN {NAMED.format(r='NEW')} BEGIN DELETE FROM search_index WHERE rowid = {old}; "
        f"{locale}{COLUMNS}{new}; END",
        "CREATE TRIGGER search_public_translation_ad AFTER DELETE ON public_translation "
        f"WHEN {NAMED.format(r='OLD')} BEGIN DELETE FROM search_index WHERE rowid = {old}; END",
    ]
    return out


def _sqlite_upgrade() -> None:
    for table in ("public_compound", "public_condition", "public_review"):
        for suffix in ("ai", "au", "ad"):
            op.execute(f"DROP TRIGGER IF EXISTS search_{table}_{suffix}")
    op.execute("DROP TABLE IF EXISTS search_index")
    op.execute(
        "CREATE VIRTUAL TABLE search_index USING fts5("
        "kind UNINDEXED, ref_id UNINDEXED, name, aliases, body, locale UNINDEXED, "
        "tokenize = 'unicode61 remove_diacritics 2')"
    )
    op.execute(
        "CREATE TABLE search_index_locale (code INTEGER PRIMARY KEY, tag VARCHAR(35) NOT NULL "
        "UNIQUE)"
    )
    for sql in _sqlite_triggers():
        op.execute(sql)
    for table in SQLITE_ROWS:
        op.execute(f"{COLUMNS}SELECT {_sqlite_values(table, 't')} FROM {table} t")
    op.execute(f"{COLUMNS}SELECT {_review_values('t')} FROM public_review t")
    op.execute(
        "INSERT INTO search_index_locale(tag) SELECT DISTINCT locale FROM public_translation "
        "ORDER BY locale"
    )
    op.execute(
        f"{COLUMNS}{TRANSLATION_SELECT.format(r='t').replace('WHERE v.id', ', public_translation t WHERE v.id')} "
        f"AND {NAMED.format(r='t')}"
    )


# --- PostgreSQL --------------------------------------------------------------------------------

ALIASES_PG = (
    "coalesce((SELECT string_agg(value, ' ') FROM json_array_elements_text({a}) AS value), '')"
)


def _pg_config_function() -> str:
    cases = " ".join(f"WHEN '{tag}' THEN '{cfg}'" for tag, cfg in sorted(CONFIGS.items()))
    return (
        "CREATE FUNCTION search_config(tag text) RETURNS regconfig LANGUAGE sql IMMUTABLE "
        f"AS $$ SELECT (CASE split_part(lower(tag), '-', 1) {cases} ELSE 'simple' END)"
        "::regconfig $$"
    )


def _pg_function(name: str, body: str) -> str:
    return f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$\nBEGIN\n{body}\nEND $$"


UPSERT = (
    "INSERT INTO search_index (kind, ref_id, locale, config, name, aliases, body) "
    "VALUES ({values}) ON CONFLICT (kind, ref_id, locale) DO UPDATE SET config = "
    "EXCLUDED.config, name = EXCLUDED.name, aliases = EXCLUDED.aliases, body = EXCLUDED.body;"
)
PG_ROWS = {
    # table: (kind, values of (locale, config, name, aliases, body))
    "public_compound": (
        "compound",
        "'', 'simple', {r}.name, "
        + ALIASES_PG.format(a="{r}.aliases::json")
        + ", {r}.slug || ' ' || {r}.drug_class",
    ),
    "public_condition": (
        "condition",
        "'', 'simple', {r}.name, "
        + ALIASES_PG.format(a="{r}.aliases::json")
        + ", {r}.slug || ' ' || {r}.full_name",
    ),
    "public_review": (
        "review",
        "{r}.locale, CASE WHEN {r}.locale = '{d}' THEN 'simple'::regconfig "
        "ELSE search_config({r}.locale) END, {r}.title, '', {r}.slug",
    ),
}
PG_TRANSLATED = "(v.facts -> 'translations' -> {r}.locale)"
PG_TRANSLATION = (
    "SELECT {r}.kind, {r}.record_id, {r}.locale, search_config({r}.locale), "
    "coalesce("
    + PG_TRANSLATED
    + " ->> 'name', ''), "
    + ALIASES_PG.format(a=PG_TRANSLATED + " -> 'aliases'")
    + ", coalesce(CASE {r}.kind WHEN 'compound' THEN "
    + PG_TRANSLATED
    + " ->> 'drug_class' ELSE "
    + PG_TRANSLATED
    + " ->> 'full_name' END, '') FROM fact_version v WHERE v.id = {r}.version_id"
)


def _pg_upgrade() -> None:
    for table in ("public_compound", "public_condition", "public_review"):
        op.execute(f"DROP TRIGGER IF EXISTS search_{table} ON {table}")
        op.execute(f"DROP FUNCTION IF EXISTS search_{table}()")
    op.execute("DROP TABLE IF EXISTS search_index")
    op.execute(
        "CREATE FUNCTION search_fold(t text) RETURNS text LANGUAGE sql IMMUTABLE STRICT "
        f"PARALLEL SAFE AS $$ SELECT translate(lower(t), '{ACCENTED}', '{PLAIN}') $$"
    )
    op.execute(_pg_config_function())
    op.execute(
        "CREATE TABLE search_index ("
        "kind varchar(16) NOT NULL, ref_id integer NOT NULL, "
        "locale varchar(35) NOT NULL DEFAULT '', config regconfig NOT NULL DEFAULT 'simple', "
        "name text NOT NULL, aliases text NOT NULL, body text NOT NULL, "
        "document tsvector GENERATED ALWAYS AS ("
        "setweight(to_tsvector(config, search_fold(name)), 'A') || "
        "setweight(to_tsvector(config, search_fold(aliases)), 'B') || "
        "setweight(to_tsvector(config, search_fold(body)), 'C')) STORED, "
        "PRIMARY KEY (kind, ref_id, locale))"
    )
    op.execute("CREATE INDEX ix_search_index_document ON search_index USING GIN (document)")
    for table, (kind, values) in PG_ROWS.items():
        # (Translated names have rows of their own: public_translation's.)
        body = (
            "  IF TG_OP = 'DELETE' THEN\n"
            f"    DELETE FROM search_index WHERE kind = '{kind}' AND ref_id = OLD.id"
            + (" AND locale = OLD.locale" if kind == "review" else " AND locale = ''")
            + ";\n    RETURN OLD;\n  END IF;\n  "
            + UPSERT.format(values=f"'{kind}', NEW.id, {values.format(r='NEW', d=_default())}")
            + "\n  RETURN NEW;"
        )
        op.execute(_pg_function(f"search_{table}", body))
        op.execute(
            f"CREATE TRIGGER search_{table} AFTER INSERT OR DELETE OR UPDATE "
            f"ON {table} FOR EACH ROW EXECUTE FUNCTION search_{table}()"
        )
        op.execute(
            "INSERT INTO search_index (kind, ref_id, locale, config, name, aliases, body) "
            f"SELECT '{kind}', t.id, {values.format(r='t', d=_default())} FROM {table} t"
        )
    upsert = UPSERT.split(" VALUES")[0] + " " + PG_TRANSLATION.format(r="NEW")
    upsert += " ON CONFLICT" + UPSERT.split(" ON CONFLICT")[1]
    body = (
        "  IF TG_OP = 'DELETE' THEN\n"
        "    DELETE FROM search_index WHERE kind = OLD.kind AND ref_id = OLD.record_id "
        "AND locale = OLD.locale;\n    RETURN OLD;\n  END IF;\n"
        "  IF NEW.kind IN ('compound', 'condition') THEN\n    " + upsert + "\n  END IF;\n"
        "  RETURN NEW;"
    )
    op.execute(_pg_function("search_public_translation", body))
    op.execute(
        "CREATE TRIGGER search_public_translation AFTER INSERT OR DELETE OR UPDATE "
        "ON public_translation FOR EACH ROW EXECUTE FUNCTION search_public_translation()"
    )
    op.execute(
        "INSERT INTO search_index (kind, ref_id, locale, config, name, aliases, body) "
        + PG_TRANSLATION.format(r="t").replace("WHERE v.id", ", public_translation t WHERE v.id")
        + " AND t.kind IN ('compound', 'condition')"
    )


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _sqlite_upgrade()
    else:
        _pg_upgrade()


# --- downgrade: the index of the published_read_model migration (no locales) ------------------

OLD_COLUMNS = "INSERT INTO search_index(rowid, kind, ref_id, name, aliases, body) "
TABLES = ("public_compound", "public_condition", "public_review", "public_translation")


def _old_values(table: str, r: str) -> str:
    """A row as the published_read_model migration indexed it (every review alike)."""
    if table == "public_review":
        return f"{r}.id * 4 + 3, 'review', {r}.id, {r}.title, '', {r}.slug"
    return _sqlite_values(table, r).rsplit(", ", 1)[0]


def _sqlite_downgrade() -> None:
    for table in TABLES:
        for suffix in ("ai", "au", "ad"):
            op.execute(f"DROP TRIGGER IF EXISTS search_{table}_{suffix}")
    op.execute("DROP TABLE search_index")
    op.execute("DROP TABLE search_index_locale")
    op.execute(
        "CREATE VIRTUAL TABLE search_index USING fts5("
        "kind UNINDEXED, ref_id UNINDEXED, name, aliases, body, "
        "tokenize = 'unicode61 remove_diacritics 2')"
    )
    for table in TABLES[:3]:
        new, old = _old_values(table, "NEW"), _old_values(table, "OLD").split(",")[0]
        op.execute(
            f"CREATE TRIGGER search_{table}_ai AFTER INSERT ON {table} BEGIN "
            f"{OLD_COLUMNS}VALUES ({new}); END"
        )
        op.execute(
            f"CREATE TRIGGER search_{table}_au AFTER UPDATE ON {table} BEGIN "
            f"DELETE FROM search_index WHERE rowid = {old}; {OLD_COLUMNS}VALUES ({new}); END"
        )
        op.execute(
            f"CREATE TRIGGER search_{table}_ad AFTER DELETE ON {table} BEGIN "
            f"DELETE FROM search_index WHERE rowid = {old}; END"
        )
        op.execute(f"{OLD_COLUMNS}SELECT {_old_values(table, 't')} FROM {table} t")


def _pg_downgrade() -> None:
    for table in TABLES:
        op.execute(f"DROP TRIGGER IF EXISTS search_{table} ON {table}")
        op.execute(f"DROP FUNCTION IF EXISTS search_{table}()")
    op.execute("DROP TABLE search_index")
    op.execute("DROP FUNCTION search_fold(text)")
    op.execute("DROP FUNCTION search_config(text)")
    op.execute(
        "CREATE TABLE search_index ("
        "kind varchar(16) NOT NULL, ref_id integer NOT NULL, "
        "name text NOT NULL, aliases text NOT NULL, body text NOT NULL, "
        "document tsvector GENERATED ALWAYS AS ("
        "setweight(to_tsvector('simple', name), 'A') || "
        "setweight(to_tsvector('simple', aliases), 'B') || "
        "setweight(to_tsvector('simple', body), 'C')) STORED, "
        "PRIMARY KEY (kind, ref_id))"
    )
    op.execute("CREATE INDEX ix_search_index_document ON search_index USING GIN (document)")
    for table, (kind, values) in PG_ROWS.items():
        # (locale and config dropped: name, aliases, body)
        row = values.split(", ", 2)[2] if kind != "review" else "{r}.title, '', {r}.slug"
        body = (
            "  IF TG_OP = 'DELETE' THEN\n"
            f"    DELETE FROM search_index WHERE kind = '{kind}' AND ref_id = OLD.id;\n"
            "    RETURN OLD;\n  END IF;\n"
            "  INSERT INTO search_index (kind, ref_id, name, aliases, body) "
            f"VALUES ('{kind}', NEW.id, {row.format(r='NEW')}) ON CONFLICT (kind, ref_id) DO "
            "UPDATE SET name = EXCLUDED.name, aliases = EXCLUDED.aliases, body = EXCLUDED.body;"
            "\n  RETURN NEW;"
        )
        op.execute(_pg_function(f"search_{table}", body))
        op.execute(
            f"CREATE TRIGGER search_{table} AFTER INSERT OR DELETE OR UPDATE "
            f"ON {table} FOR EACH ROW EXECUTE FUNCTION search_{table}()"
        )
        op.execute(
            "INSERT INTO search_index (kind, ref_id, name, aliases, body) "
            f"SELECT '{kind}', t.id, {row.format(r='t')} FROM {table} t"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _sqlite_downgrade()
    else:
        _pg_downgrade()

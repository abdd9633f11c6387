"""published read model: fact snapshots, approved copies, search and change log from them

Readers used to get the approved page text but the *live* facts around it; a fact
edit was public before any review. From here on (db/read_model.py):

- ``fact_version`` holds immutable snapshots of a record's facts; a published
  revision points at the four its page was generated from.
- ``public_compound``, ``public_condition``, ``public_evidence``,
  ``public_publisher`` and ``public_review`` are the approved copies readers read.
- The search index and the change log are fed by triggers on the ``public_*``
  tables instead of the working tables, so they hold approved values only and a
  working-copy edit logs nothing. The change log gains ``evidence`` and
  ``publisher`` entries (for other processes' caches; the public feed keeps to
  reviews, compounds and conditions).

Backfill: today's facts count as approved for what is published now (every
published review's current revision gets snapshots of its compound, condition,
evidence and publisher as they are); compounds and conditions without a published
review become invisible to readers, and the change feed says so with a DELETE.

Revision ID: a7c4e1f20008
Revises: 8d1f3a6b0007
Create Date: 2026-12-02 01:00:00
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

import db.models

revision: str = "a7c4e1f20008"
down_revision: str | None = "8d1f3a6b0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = db.models.UTCDateTime(timezone=True)
CHANGE_LOG_LOCK = 4_281_936_507  # the same key as the change_log migration's


def _enum(name: str, *values: str) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True, length=16)


def _research() -> sa.Enum:
    return _enum("research", "SPECIFIC", "LIMITED")


def _version_fk(name: str, nullable: bool = False) -> sa.Column[Any]:
    return sa.Column(name, sa.Integer(), sa.ForeignKey("fact_version.id"), nullable=nullable)


def _record_pk(table: str) -> sa.Column[Any]:
    return sa.Column(
        "id", sa.Integer(), sa.ForeignKey(f"{table}.id", ondelete="CASCADE"), primary_key=True
    )


def _create_tables() -> None:
    op.create_table(
        "fact_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            _enum("fact_kind", "compound", "condition", "evidence", "publisher"),
            nullable=False,
        ),
        sa.Column("record_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("facts", sa.JSON(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("kind", "record_id", "content_hash", name="uq_fact_version_content"),
        sa.UniqueConstraint("kind", "record_id", "number", name="uq_fact_version_number"),
    )
    op.create_table(
        "public_compound",
        _record_pk("compound"),
        sa.Column("slug", sa.String(length=80), nullable=False, unique=True),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("aliases", sa.JSON(), nullable=False),
        sa.Column("drug_class", sa.String(length=200), nullable=False),
        sa.Column("rxnorm", sa.String(length=20), nullable=True),
        sa.Column("mesh", sa.String(length=20), nullable=True),
        _version_fk("version_id"),
        sa.Column("approved_at", TS, nullable=False),
    )
    op.create_table(
        "public_condition",
        _record_pk("condition"),
        sa.Column("slug", sa.String(length=80), nullable=False, unique=True),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("full_name", sa.String(length=300), nullable=False),
        sa.Column("aliases", sa.JSON(), nullable=False),
        sa.Column("icd10", sa.String(length=20), nullable=True),
        sa.Column("mesh", sa.String(length=20), nullable=True),
        _version_fk("version_id"),
        sa.Column("approved_at", TS, nullable=False),
    )
    op.create_table(
        "public_evidence",
        _record_pk("evidence"),
        sa.Column("compound_id", sa.Integer(), nullable=False),
        sa.Column("condition_id", sa.Integer(), nullable=False),
        sa.Column("research", _research(), nullable=False),
        _version_fk("version_id"),
        sa.Column("approved_at", TS, nullable=False),
        sa.UniqueConstraint("compound_id", "condition_id", name="uq_public_evidence"),
    )
    op.create_table(
        "public_publisher",
        _record_pk("publisher"),
        _version_fk("version_id"),
        sa.Column("approved_at", TS, nullable=False),
    )
    op.create_table(
        "public_review",
        _record_pk("review"),
        sa.Column("slug", sa.String(length=200), nullable=False, unique=True),
        sa.Column("kind", _enum("review_kind", "SAFETY"), nullable=False),
        sa.Column("compound_id", sa.Integer(), nullable=False),
        sa.Column("condition_id", sa.Integer(), nullable=False),
        sa.Column("revision_id", sa.Integer(), sa.ForeignKey("review_revision.id"), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("research", _research(), nullable=False),
        sa.Column("template_version", sa.String(length=40), nullable=False),
        _version_fk("compound_version_id"),
        _version_fk("condition_version_id"),
        _version_fk("evidence_version_id"),
        _version_fk("publisher_version_id", nullable=True),
        sa.Column("published_at", TS, nullable=False),
        sa.Column("last_reviewed_at", TS, nullable=False),
        sa.Column("review_due_at", TS, nullable=False),
    )
    for name, columns in (
        ("ix_public_review_condition", ["condition_id", "research", "published_at", "id"]),
        ("ix_public_review_compound", ["compound_id", "research", "published_at", "id"]),
        ("ix_public_review_published_at", ["published_at", "id"]),
        ("ix_public_review_title", ["title", "id"]),
    ):
        op.create_index(name, "public_review", columns)
    # Plain ALTER TABLE ADD COLUMN (no table copy): review.published_revision_id
    # references review_revision, so SQLite could not drop and recreate it.
    sqlite = op.get_bind().dialect.name == "sqlite"
    for name in ("compound", "condition", "evidence", "publisher"):
        if sqlite:
            op.execute(
                f"ALTER TABLE review_revision ADD COLUMN {name}_version_id INTEGER "
                "REFERENCES fact_version (id)"
            )
        else:
            op.add_column(
                "review_revision",
                sa.Column(
                    f"{name}_version_id",
                    sa.Integer(),
                    sa.ForeignKey("fact_version.id"),
                    nullable=True,
                ),
            )
    # Readers' lists now read public_review (its own indexes); these served the old way.
    op.drop_index("ix_review_public_compound", table_name="review")
    op.drop_index("ix_review_public_condition", table_name="review")


# --- backfill: what is published now is approved, facts included ---------------------------
# (A copy of content/facts.py as of this migration: migrations never import code that changes.)

URLS = {
    "PMID": "https://pubmed.ncbi.nlm.nih.gov/{}/",
    "DOI": "https://doi.org/{}",
    "NCT": "https://clinicaltrials.gov/study/{}",
}


def _hash(facts: Any) -> str:
    blob = json.dumps(facts, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(blob.encode()).hexdigest()


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def _citations(conn: Any, column: str, ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    out: dict[int, list[dict[str, Any]]] = {}
    for start in range(0, len(ids), 5000):
        rows = conn.execute(
            sa.text(
                f"SELECT {column} AS owner, kind, value, title FROM citation "
                f"WHERE {column} IN :ids ORDER BY {column}, position"
            ).bindparams(sa.bindparam("ids", expanding=True)),
            {"ids": ids[start : start + 5000]},
        )
        for r in rows:
            pattern = URLS.get(str(r.kind))
            out.setdefault(r.owner, []).append(
                {
                    "kind": str(r.kind),
                    "value": r.value,
                    "title": r.title,
                    "url": pattern.format(r.value) if pattern else r.value,
                }
            )
    return out


def _facts(conn: Any, kind: str, ids: list[int]) -> dict[int, tuple[dict[str, Any], Any]]:
    """record id -> (facts, row) for the records of one kind."""
    if not ids:
        return {}
    select = sa.text(f"SELECT * FROM {kind} WHERE id IN :ids").bindparams(
        sa.bindparam("ids", expanding=True)
    )
    rows = [
        r
        for start in range(0, len(ids), 5000)
        for r in conn.execute(select, {"ids": ids[start : start + 5000]})
    ]
    out: dict[int, tuple[dict[str, Any], Any]] = {}
    if kind == "compound":
        cites = _citations(conn, "compound_id", ids)
        for c in rows:
            out[c.id] = (
                {
                    "slug": c.slug,
                    "name": c.name,
                    "aliases": list(_json(c.aliases) or []),
                    "drug_class": c.drug_class,
                    "safety_profile": list(_json(c.safety_profile) or []),
                    "regulatory_status": c.regulatory_status,
                    "evidence_level": c.evidence_level,
                    "mechanisms": list(_json(c.mechanisms) or []),
                    "rxnorm": c.rxnorm,
                    "mesh": c.mesh,
                    "citations": cites.get(c.id, []),
                },
                c,
            )
    elif kind == "condition":
        for d in rows:
            out[d.id] = (
                {
                    "slug": d.slug,
                    "name": d.name,
                    "full_name": d.full_name or d.name,
                    "specialist": d.specialist,
                    "aliases": list(_json(d.aliases) or []),
                    "icd10": d.icd10,
                    "mesh": d.mesh,
                },
                d,
            )
    elif kind == "evidence":
        cites = _citations(conn, "evidence_id", ids)
        for e in rows:
            out[e.id] = (
                {
                    "research": str(e.research),
                    "notes": e.notes or "",
                    "citations": cites.get(e.id, []),
                },
                e,
            )
    else:
        for p in rows:
            out[p.id] = (
                {
                    "name": p.name,
                    "medical_advisor": {
                        "name": p.advisor_name,
                        "credentials": p.advisor_credentials,
                    },
                    "cta": p.cta,
                    "notice": p.notice,
                },
                p,
            )
    return out


def _backfill(now: datetime) -> None:
    conn = op.get_bind()
    published = conn.execute(
        sa.text(
            "SELECT r.id, r.slug, r.kind, r.compound_id, r.condition_id, r.published_revision_id, "
            "r.published_at, r.last_reviewed_at, r.review_due_at, r.research AS working_research, "
            "v.number, v.title, v.research, v.template_version, v.approved_at, e.id AS evidence_id "
            "FROM review r JOIN review_revision v ON v.id = r.published_revision_id "
            "LEFT JOIN evidence e ON e.compound_id = r.compound_id AND e.condition_id = r.condition_id "
            "ORDER BY r.id"
        ).columns(
            # (Typed by name, so SQLite's stored text comes back as aware datetimes.)
            published_at=TS,
            last_reviewed_at=TS,
            review_due_at=TS,
            approved_at=TS,
        )
    ).all()
    published = [r for r in published if r.evidence_id is not None]
    if not published:
        return
    publisher_id = conn.execute(sa.text("SELECT min(id) FROM publisher")).scalar()
    wanted = {
        "compound": sorted({r.compound_id for r in published}),
        "condition": sorted({r.condition_id for r in published}),
        "evidence": sorted({r.evidence_id for r in published}),
        "publisher": [publisher_id] if publisher_id is not None else [],
    }
    versions = sa.table(
        "fact_version",
        sa.column("kind"),
        sa.column("record_id"),
        sa.column("number"),
        sa.column("content_hash"),
        sa.column("facts", sa.JSON()),
        sa.column("created_at", TS),
    )
    facts: dict[str, dict[int, tuple[dict[str, Any], Any]]] = {}
    for kind, ids in wanted.items():
        facts[kind] = _facts(conn, kind, ids)
        rows = [
            {
                "kind": kind,
                "record_id": rid,
                "number": 1,
                "content_hash": _hash(f),
                "facts": f,
                "created_at": now,
            }
            for rid, (f, _) in facts[kind].items()
        ]
        if rows:
            op.bulk_insert(versions, rows)
    version_of = {
        (str(k), rid): vid
        for k, rid, vid in conn.execute(sa.text("SELECT kind, record_id, id FROM fact_version"))
    }

    def public(table: str, columns: list[tuple[str, Any]], rows: list[dict[str, Any]]) -> None:
        if rows:
            op.bulk_insert(sa.table(table, *(sa.column(n, t) for n, t in columns)), rows)

    public(
        "public_compound",
        [("id", None), ("slug", None), ("name", None), ("aliases", sa.JSON()), ("drug_class", None),
         ("rxnorm", None), ("mesh", None), ("version_id", None), ("approved_at", TS)],
        [
            {"id": rid, "slug": f["slug"], "name": f["name"], "aliases": f["aliases"],
             "drug_class": f["drug_class"], "rxnorm": f["rxnorm"], "mesh": f["mesh"],
             "version_id": version_of[("compound", rid)], "approved_at": now}
            for rid, (f, _) in facts["compound"].items()
        ],
    )  # fmt: skip
    public(
        "public_condition",
        [("id", None), ("slug", None), ("name", None), ("full_name", None), ("aliases", sa.JSON()),
         ("icd10", None), ("mesh", None), ("version_id", None), ("approved_at", TS)],
        [
            {"id": rid, "slug": f["slug"], "name": f["name"], "full_name": f["full_name"],
             "aliases": f["aliases"], "icd10": f["icd10"], "mesh": f["mesh"],
             "version_id": version_of[("condition", rid)], "approved_at": now}
            for rid, (f, _) in facts["condition"].items()
        ],
    )  # fmt: skip
    public(
        "public_evidence",
        [("id", None), ("compound_id", None), ("condition_id", None), ("research", None),
         ("version_id", None), ("approved_at", TS)],
        [
            {"id": rid, "compound_id": row.compound_id, "condition_id": row.condition_id,
             "research": f["research"], "version_id": version_of[("evidence", rid)],
             "approved_at": now}
            for rid, (f, row) in facts["evidence"].items()
        ],
    )  # fmt: skip
    public(
        "public_publisher",
        [("id", None), ("version_id", None), ("approved_at", TS)],
        [
            {"id": rid, "version_id": version_of[("publisher", rid)], "approved_at": now}
            for rid in facts["publisher"]
        ],
    )
    pub_version = version_of.get(("publisher", publisher_id)) if publisher_id else None
    rows = []
    for r in published:
        ids = {
            "compound_version_id": version_of[("compound", r.compound_id)],
            "condition_version_id": version_of[("condition", r.condition_id)],
            "evidence_version_id": version_of[("evidence", r.evidence_id)],
            "publisher_version_id": pub_version,
        }
        conn.execute(
            sa.text(
                "UPDATE review_revision SET compound_version_id = :compound_version_id, "
                "condition_version_id = :condition_version_id, "
                "evidence_version_id = :evidence_version_id, "
                "publisher_version_id = :publisher_version_id WHERE id = :id"
            ),
            {**ids, "id": r.published_revision_id},
        )
        rows.append(
            {
                "id": r.id,
                "slug": r.slug,
                "kind": str(r.kind),
                "compound_id": r.compound_id,
                "condition_id": r.condition_id,
                "revision_id": r.published_revision_id,
                "number": r.number,
                "title": r.title,
                "research": str(r.research or r.working_research),
                "template_version": r.template_version,
                **ids,
                "published_at": r.published_at or r.approved_at,
                "last_reviewed_at": r.last_reviewed_at or r.approved_at,
                "review_due_at": r.review_due_at or r.approved_at,
            }
        )
    public(
        "public_review",
        [(n, TS if n.endswith("_at") else None) for n in rows[0]],
        rows,
    )


# --- the change log: fed by the approved copies -----------------------------------------------

ENTITIES_BEFORE = ("review", "compound", "condition")
ENTITIES = (*ENTITIES_BEFORE, "evidence", "publisher")
SQLITE_NOW = "strftime('%Y-%m-%d %H:%M:%f', 'now')"
# table: (entity, the key logged as `slug`, the column whose change is a new approval)
LOGGED = {
    "public_compound": ("compound", "{r}.slug", "version_id"),
    "public_condition": ("condition", "{r}.slug", "version_id"),
    "public_review": ("review", "{r}.slug", "revision_id"),
    "public_evidence": ("evidence", "{r}.compound_id || ':' || {r}.condition_id", "version_id"),
    "public_publisher": ("publisher", "'publisher'", "version_id"),
}
OLD_LOGGED = ("compound", "condition", "review")


def _sqlite_change_log_table(entities: Sequence[str]) -> None:
    """Recreate change_log with another CHECK on `entity` (SQLite cannot alter one),
    keeping every row and the AUTOINCREMENT position."""
    values = ", ".join(f"'{e}'" for e in entities)
    seq = (
        op.get_bind()
        .execute(sa.text("SELECT seq FROM sqlite_sequence WHERE name = 'change_log'"))
        .scalar()
    )
    op.execute(
        "CREATE TABLE change_log_new (id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT, "
        "at DATETIME NOT NULL, "
        f"entity VARCHAR(16) NOT NULL CONSTRAINT change_entity CHECK (entity IN ({values})), "
        "entity_id INTEGER NOT NULL, slug VARCHAR(200) NOT NULL, "
        "op VARCHAR(16) NOT NULL CONSTRAINT change_op CHECK (op IN ('UPSERT', 'DELETE')))"
    )
    op.execute(
        "INSERT INTO change_log_new SELECT id, at, entity, entity_id, slug, op FROM change_log"
    )
    op.execute("DROP TABLE change_log")
    op.execute("ALTER TABLE change_log_new RENAME TO change_log")
    if seq is not None:
        op.execute(
            f"UPDATE sqlite_sequence SET seq = max(seq, {int(seq)}) WHERE name = 'change_log'"
        )


def _postgres_change_log_check(entities: Sequence[str]) -> None:
    values = ", ".join(f"'{e}'" for e in entities)
    op.execute("ALTER TABLE change_log DROP CONSTRAINT IF EXISTS change_entity")
    op.execute(f"ALTER TABLE change_log ADD CONSTRAINT change_entity CHECK (entity IN ({values}))")


def _sqlite_change_triggers(drop: bool, tables: dict[str, tuple[str, str, str]]) -> list[str]:
    out = []
    for table, (entity, key, watched) in tables.items():
        if drop:
            out += [f"DROP TRIGGER IF EXISTS change_log_{table}_{s}" for s in ("ai", "au", "ad")]
            continue

        def insert(row: str, op_: str, entity: str = entity, key: str = key) -> str:
            return (
                "INSERT INTO change_log (at, entity, entity_id, slug, op) "
                f"VALUES ({SQLITE_NOW}, '{entity}', {row}.id, {key.format(r=row)}, '{op_}')"
            )

        out += [
            f"CREATE TRIGGER change_log_{table}_ai AFTER INSERT ON {table} BEGIN "
            f"{insert('NEW', 'UPSERT')}; END",
            f"CREATE TRIGGER change_log_{table}_au AFTER UPDATE OF {watched} ON {table} "
            f"WHEN OLD.{watched} IS NOT NEW.{watched} BEGIN {insert('NEW', 'UPSERT')}; END",
            f"CREATE TRIGGER change_log_{table}_ad AFTER DELETE ON {table} BEGIN "
            f"{insert('OLD', 'DELETE')}; END",
        ]
    return out


POSTGRES_FUNCTION = f"""
CREATE OR REPLACE FUNCTION change_log_write() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  rec jsonb;
BEGIN
  IF TG_OP = 'DELETE' THEN rec := to_jsonb(OLD); ELSE rec := to_jsonb(NEW); END IF;
  -- Serialize the log's writers until commit, so ids become visible in order.
  PERFORM pg_advisory_xact_lock({CHANGE_LOG_LOCK});
  INSERT INTO change_log (at, entity, entity_id, slug, op)
  VALUES (now(), TG_ARGV[0], (rec->>'id')::integer,
          coalesce(rec->>'slug', (rec->>'compound_id') || ':' || (rec->>'condition_id'),
                   TG_ARGV[0]),
          TG_ARGV[1]);
  RETURN NULL;
END $$"""
OLD_POSTGRES_TRIGGERS = [
    ("compound_ai", "compound"),
    ("compound_au", "compound"),
    ("compound_ad", "compound"),
    ("condition_ai", "condition"),
    ("condition_au", "condition"),
    ("condition_ad", "condition"),
    ("review_ai", "review"),
    ("review_au_upsert", "review"),
    ("review_au_delete", "review"),
    ("review_ad", "review"),
]


def _postgres_change_triggers() -> None:
    for name, table in OLD_POSTGRES_TRIGGERS:
        op.execute(f"DROP TRIGGER IF EXISTS change_log_{name} ON {table}")
    op.execute(POSTGRES_FUNCTION)
    for table, (entity, _, watched) in LOGGED.items():
        for suffix, event, when, op_ in (
            ("ai", f"INSERT ON {table}", None, "UPSERT"),
            ("au", f"UPDATE OF {watched} ON {table}", f"OLD.{watched} IS DISTINCT FROM NEW.{watched}", "UPSERT"),
            ("ad", f"DELETE ON {table}", None, "DELETE"),
        ):  # fmt: skip
            condition = f" WHEN ({when})" if when else ""
            op.execute(
                f"CREATE TRIGGER change_log_{table}_{suffix} AFTER {event} FOR EACH ROW"
                f"{condition} EXECUTE FUNCTION change_log_write('{entity}', '{op_}')"
            )


# --- the search index: approved text only ----------------------------------------------------

ALIASES_SQLITE = "(SELECT group_concat(value, ' ') FROM json_each({r}.aliases))"
ALIASES_PG = (
    "coalesce((SELECT string_agg(value, ' ') FROM json_array_elements_text({r}.aliases::json) "
    "AS value), '')"
)
# table: (kind, rowid offset, name, body)
SEARCHED = {
    "public_compound": ("compound", 1, "{r}.name", "{r}.slug || ' ' || {r}.drug_class"),
    "public_condition": ("condition", 2, "{r}.name", "{r}.slug || ' ' || {r}.full_name"),
    "public_review": ("review", 3, "{r}.title", "{r}.slug"),
}


def _sqlite_search() -> None:
    for table in ("compound", "condition", "review"):
        for suffix in ("ai", "au", "ad"):
            op.execute(f"DROP TRIGGER IF EXISTS search_{table}_{suffix}")
    op.execute("DELETE FROM search_index")
    for table, (kind, offset, name, body) in SEARCHED.items():
        aliases = "''" if kind == "review" else ALIASES_SQLITE

        def values(r: str, kind: str = kind, offset: int = offset, name: str = name,
                   body: str = body, aliases: str = aliases) -> str:  # fmt: skip
            return (
                f"{r}.id * 4 + {offset}, '{kind}', {r}.id, {name.format(r=r)}, "
                f"{aliases.format(r=r)}, {body.format(r=r)}"
            )

        insert = "INSERT INTO search_index(rowid, kind, ref_id, name, aliases, body) "
        op.execute(
            f"CREATE TRIGGER search_{table}_ai AFTER INSERT ON {table} BEGIN "
            f"{insert}VALUES ({values('NEW')}); END"
        )
        op.execute(
            f"CREATE TRIGGER search_{table}_au AFTER UPDATE ON {table} BEGIN "
            f"DELETE FROM search_index WHERE rowid = OLD.id * 4 + {offset}; "
            f"{insert}VALUES ({values('NEW')}); END"
        )
        op.execute(
            f"CREATE TRIGGER search_{table}_ad AFTER DELETE ON {table} BEGIN "
            f"DELETE FROM search_index WHERE rowid = OLD.id * 4 + {offset}; END"
        )
        op.execute(f"{insert}SELECT {values('t')} FROM {table} t")


def _postgres_search() -> None:
    for table in ("compound", "condition", "review"):
        op.execute(f"DROP TRIGGER IF EXISTS search_{table} ON {table}")
        op.execute(f"DROP FUNCTION IF EXISTS search_{table}()")
    op.execute("DELETE FROM search_index")
    for table, (kind, _, name, body) in SEARCHED.items():
        aliases = "''" if kind == "review" else ALIASES_PG
        new = {
            k: v.format(r="NEW") for k, v in (("name", name), ("aliases", aliases), ("body", body))
        }
        op.execute(
            f"""
CREATE FUNCTION search_{table}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    DELETE FROM search_index WHERE kind = '{kind}' AND ref_id = OLD.id;
    RETURN OLD;
  END IF;
  INSERT INTO search_index (kind, ref_id, name, aliases, body)
  VALUES ('{kind}', NEW.id, {new["name"]}, {new["aliases"]}, {new["body"]})
  ON CONFLICT (kind, ref_id) DO UPDATE
    SET name = EXCLUDED.name, aliases = EXCLUDED.aliases, body = EXCLUDED.body;
  RETURN NEW;
END $$"""
        )
        op.execute(
            f"CREATE TRIGGER search_{table} AFTER INSERT OR DELETE OR UPDATE "
            f"ON {table} FOR EACH ROW EXECUTE FUNCTION search_{table}()"
        )
        old = {
            k: v.format(r="t") for k, v in (("name", name), ("aliases", aliases), ("body", body))
        }
        op.execute(
            f"INSERT INTO search_index (kind, ref_id, name, aliases, body) "
            f"SELECT '{kind}', t.id, {old['name']}, {old['aliases']}, {old['body']} FROM {table} t"
        )


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    now = datetime.now(UTC)
    _create_tables()
    # Log tables first: the backfill's approvals are what readers see from now on, and the
    # feed must say which records left the public catalog.
    if dialect == "sqlite":
        for sql in _sqlite_change_triggers(True, {t: ("", "", "") for t in OLD_LOGGED}):
            op.execute(sql)
        _sqlite_change_log_table(ENTITIES)
    else:
        _postgres_change_log_check(ENTITIES)
        for name, table in OLD_POSTGRES_TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS change_log_{name} ON {table}")
    _backfill(now)
    stamp = SQLITE_NOW if dialect == "sqlite" else "now()"
    for kind in ("compound", "condition"):
        op.execute(
            f"INSERT INTO change_log (at, entity, entity_id, slug, op) SELECT {stamp}, '{kind}', "
            f"id, slug, 'DELETE' FROM {kind} WHERE id NOT IN (SELECT id FROM public_{kind}) "
            "ORDER BY id"
        )
    if dialect == "sqlite":
        for sql in _sqlite_change_triggers(False, LOGGED):
            op.execute(sql)
        _sqlite_search()
    else:
        _postgres_change_triggers()
        _postgres_search()


def downgrade() -> None:
    raise NotImplementedError(
        "the published read model cannot be undone: restore the backup taken before upgrading"
    )

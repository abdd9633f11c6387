"""Generation benchmark: 500 compounds x 100 conditions (50,000 reviews) on SQLite.

Prints full generation time and pages/s, the stale pass after one compound
changes (and checks that only its 100 reviews were touched), database size and
peak memory. Run with `make bench` or `.venv/bin/python bench/generate.py`.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import select

from catalog.importing import import_data, import_file
from db.engine import make_engine, session_scope
from db.migrate import upgrade
from db.models import Review
from editorial.generation import generate

TEMPLATES = Path(__file__).resolve().parent.parent / "db" / "catalog" / "templates.yaml"


def synthetic(compounds: int, conditions: int) -> dict:
    return {
        "publisher": {
            "name": "Bench Press (fictional)",
            "medical_advisor": {"name": "Dr. Bench (fictional)", "credentials": "MD"},
            "cta": "Benchmark content.",
            "notice": "Synthetic benchmark content.",
        },
        "compounds": [
            {
                "slug": f"compound-{i}",
                "name": f"Compound {i} (Form {i % 7})",
                "aliases": [f"c{i}"],
                "drug_class": f"Class {i % 13}",
                "safety_profile": ["Nausea", "headache", f"effect {i}"],
                "regulatory_status": f"Approved for indication {i % 11}",
                "evidence_level": f"Phase {i % 4} data",
                "mechanisms": [f"mechanism {i % 5}", "receptor modulation"],
            }
            for i in range(compounds)
        ],
        "conditions": [
            {
                "slug": f"condition-{j}",
                "name": f"Cond{j}",
                "full_name": f"Cond{j} (Condition Number {j})",
                "specialist": f"specialist {j % 9}",
            }
            for j in range(conditions)
        ],
        "evidence": [
            {
                "compound": f"compound-{i}",
                "condition": f"condition-{j}",
                "research": "specific" if (i + j) % 5 == 0 else "limited",
            }
            for i in range(compounds)
            for j in range(conditions)
        ],
    }


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--compounds", type=int, default=500)
    parser.add_argument("--conditions", type=int, default=100)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.db"
        url = f"sqlite:///{path}"
        upgrade(url)
        engine = make_engine(url)
        t0 = time.perf_counter()
        with session_scope(engine) as session:
            import_file(session, TEMPLATES)
            import_data(session, synthetic(args.compounds, args.conditions))
        t_import = time.perf_counter() - t0
        print(
            f"catalog import: {args.compounds} compounds x {args.conditions} conditions in {t_import:.1f}s"
        )

        full = generate(engine)
        pages = full.created + full.refreshed
        print(
            f"full generation: {pages} pages in {full.seconds:.1f}s ({pages / full.seconds:,.0f} pages/s)"
        )

        with session_scope(engine) as session:
            before = dict(session.execute(select(Review.id, Review.updated_at)).all())
        changed = synthetic(1, 0)["compounds"][0]
        changed["evidence_level"] = "Revised after new trial"
        with session_scope(engine) as session:
            import_data(session, {"compounds": [changed]})
        stale = generate(engine, stale_only=True)
        with session_scope(engine) as session:
            after = dict(session.execute(select(Review.id, Review.updated_at)).all())
        touched = sum(1 for k in after if after[k] != before[k])
        ok = touched == stale.refreshed == args.conditions
        print(
            f"stale pass after one compound changed: {stale.seconds:.2f}s, "
            f"{stale.refreshed} refreshed, {touched} touched "
            f"({'OK' if ok else 'WRONG'}: expected exactly {args.conditions})"
        )
        engine.dispose()
        size = sum(p.stat().st_size for p in Path(tmp).glob("bench.db*"))
        print(f"database size: {size / 1e6:.0f} MB")
        print(f"peak memory (RSS): {peak_mb():.0f} MB")
        if not ok:
            sys.exit(1)


if __name__ == "__main__":
    main()

"""The scale benchmark's load again, on catalogs kept by `bench/scale.py --keep`.

Building 200,000 reviews takes many minutes; measuring a change to a query does not need
a new catalog. This serves the kept demo and big databases (the code of this checkout)
and loads them alternately as bench/scale.py does, then prints the same table and, unless
--no-explain, the SQL per request.

    .venv/bin/python bench/scale_rerun.py --demo sqlite:////tmp/compendium_scale_X/demo.db \\
        --big sqlite:////tmp/compendium_scale_X/big.db [--kinds search] [--requests 90]
        [--rounds 8] [--no-explain]
"""

# ruff: noqa: E402  (sys.path is fixed before the imports: bench/http.py shadows `http`)
from __future__ import annotations

import sys

sys.path[:] = [p for p in sys.path if p and not p.rstrip("/").endswith("bench")]

import argparse
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.scale import report_latencies, serve_and_measure
from bench.scale_build import Catalog, loadavg
from bench.scale_sql import explain


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--demo", required=True, help="the kept demo catalog's database URL")
    parser.add_argument("--big", required=True, help="the kept big catalog's database URL")
    parser.add_argument("--kinds", default="review,list,search")
    parser.add_argument(
        "--requests", type=int, default=100, help="per target and round (search: a third)"
    )
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--no-explain", dest="explain", action="store_false")
    args = parser.parse_args()
    kinds = [k.strip() for k in args.kinds.split(",") if k.strip()]
    cats = [Catalog("demo", args.demo), Catalog("big", args.big)]
    print(f"load average at start: {loadavg()}", flush=True)
    with tempfile.TemporaryDirectory(prefix="compendium_scale_rerun_") as tmp:
        results = serve_and_measure(cats, kinds, args, Path(tmp))
    report_latencies(cats, kinds, results, args)
    if args.explain:
        explain(cats[0], cats[1], kinds)
    print(f"load average at the end: {loadavg()}")


if __name__ == "__main__":
    main()

"""What the worst anonymous requests within the limits cost: CPU and bytes per request.

Runs the real app in process over a demo catalog (SQLite, made with `compendium demo`
when no database is given), with the defaults of the query limits (max_query_cost,
max_response_bytes, aliases, depth) but the response cache off and the per-client budget
and rate out of the way, so that every request executes. For each attacker shape it
finds the largest scale whose requested cost is within max_query_cost, runs it a few
times and prints the least CPU (time.process_time(): the event loop and the database
threads) and the answer's bytes, then the fragment bomb and the refusal of an over-limit
request.

    .venv/bin/python bench/abuse.py [--database sqlite:///path/demo.db] [--runs 3]
"""

from __future__ import annotations

import sys

# bench/http.py would shadow the standard library's `http`: keep this folder off the path.
sys.path[:] = [p for p in sys.path if p and not p.rstrip("/").endswith("bench")]

import argparse
import asyncio
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import yaml
from graphql import FragmentDefinitionNode, get_introspection_query, get_operation_ast, parse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from config import Settings
from schema import schema
from server.app import create_app
from server.cost import measure

DEMO = yaml.safe_load((ROOT / "db" / "catalog" / "demo.yaml").read_text())
PAIRS = [f"{e['compound']}--{e['condition']}" for e in DEMO["evidence"]]
COMPOUNDS = [c["slug"] for c in DEMO["compounds"]]

PAGE = (
    "text(format: HTML) seo { jsonLd } sections { heading body(format: HTML) } "
    "faq { question answer(format: HTML) }"
)
BLOCKS = (
    "sections { blocks { __typename ... on ParagraphBlock { text spans { text bold } } "
    "... on ListBlock { items { text spans { text bold } } } "
    "... on FaqBlock { question answerText answer { text bold } } } }"
)
COMPOUND = (
    "slug name aliases drugClass safetyProfile regulatoryStatus evidenceLevel mechanisms "
    "codes { rxnorm mesh } citations { kind value title url }"
)
CONDITION = "slug name fullName specialist aliases codes { icd10 mesh }"
NESTED = (
    f"compound {{ {COMPOUND} }} condition {{ {CONDITION} }} "
    "evidence { research notes citations { kind value title url } } byline { text notice }"
)
SCALARS = (
    "id slug kind status revision hasUnpublishedChanges title research publishedAt updatedAt "
    "lastReviewedAt reviewDueAt templateVersion isStale locale: templateVersion"
)


def aliased(k: int, field: Callable[[int], str]) -> str:
    return "query Q { " + " ".join(f"a{i}: {field(i)}" for i in range(k)) + " }"


SHAPES: dict[str, tuple[Callable[[int], str], range]] = {
    "full pages, one list": (
        lambda k: f"query Q {{ reviews(first: {k}) {{ edges {{ node {{ {PAGE} }} }} }} }}",
        range(1, 101),
    ),
    "HTML text, aliased lists": (
        lambda k: aliased(
            k, lambda i: "reviews(first: 100) { edges { node { text(format: HTML) } } }"
        ),
        range(1, 31),
    ),
    "HTML text, one list": (
        lambda k: (
            f"query Q {{ reviews(first: {k}) {{ edges {{ node {{ text(format: HTML) }} }} }} }}"
        ),
        range(1, 101),
    ),
    "JSON-LD, aliased lists": (
        lambda k: aliased(k, lambda i: "reviews(first: 100) { edges { node { seo { jsonLd } } } }"),
        range(1, 31),
    ),
    "rows only (totalCount)": (
        lambda k: aliased(k, lambda i: "reviews(first: 100) { totalCount }"),
        range(1, 31),
    ),
    "blocks and spans": (
        lambda k: f"query Q {{ reviews(first: {k}) {{ edges {{ node {{ {BLOCKS} }} }} }} }}",
        range(1, 101),
    ),
    "nested facts": (
        lambda k: f"query Q {{ reviews(first: {k}) {{ edges {{ node {{ {NESTED} }} }} }} }}",
        range(1, 101),
    ),
    "every scalar, aliased lists": (
        lambda k: aliased(
            k, lambda i: f"reviews(first: 100) {{ edges {{ cursor node {{ {SCALARS} }} }} }}"
        ),
        range(1, 31),
    ),
    "search, aliased": (
        lambda k: aliased(
            k, lambda i: 'search(query: "a", first: 100) { edges { score node { __typename } } }'
        ),
        range(1, 31),
    ),
    "search hits rendered": (
        lambda k: (
            f'query Q {{ search(query: "a", first: {k}) {{ edges {{ node {{ '
            f"... on Review {{ text(format: HTML) }} ... on Compound {{ {COMPOUND} }} }} }} }} }}"
        ),
        range(1, 101),
    ),
    "change feed, aliased": (
        lambda k: aliased(
            k,
            lambda i: (
                "changes(first: 100) { changes { op id slug cursor node { "
                "... on Review { title } ... on Compound { name } } } }"
            ),
        ),
        range(1, 31),
    ),
    "lookups by key, full pages": (
        lambda k: aliased(
            k, lambda i: f'review(slug: "{PAIRS[i * 17 % len(PAIRS)]}") {{ {PAGE} }}'
        ),
        range(1, 31),
    ),
    "catalog, aliased lists": (
        lambda k: aliased(
            k, lambda i: f"compounds(first: 100) {{ edges {{ node {{ {COMPOUND} }} }} }}"
        ),
        range(1, 31),
    ),
    "introspection, GraphiQL's": (
        lambda k: get_introspection_query(
            descriptions=True,
            specified_by_url=True,
            directive_is_repeatable=True,
            schema_description=True,
            input_value_deprecation=True,
        ),
        range(1, 2),
    ),
    "introspection, type graph": (
        lambda k: (
            'query Q { __type(name: "Query") { fields { type { fields { type { '
            + "fields { type { " * (k - 1)
            + "name"
            + " } }" * (k - 1)
            + " } } } } } }"
        ),
        range(1, 6),
    ),
}


def cost_of(query: str, max_page: int) -> int:
    document = parse(query, max_tokens=100_000)
    operation = get_operation_ast(document)
    assert operation is not None
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    return measure(schema._schema, operation, fragments, None, max_page).cost


def largest(shape: Callable[[int], str], scale: range, limit: int, max_page: int) -> int | None:
    best = None
    for k in scale:
        try:
            if cost_of(shape(k), max_page) <= limit:
                best = k
        except Exception:
            continue
    return best


def demo_database(tmp: Path) -> str:
    url = f"sqlite:///{tmp / 'demo.db'}"
    env = dict(os.environ, COMPENDIUM_DATABASE_URL=url)
    subprocess.run(
        [sys.executable, "-m", "server.cli", "demo"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
    )
    return url


async def run(database: str, runs: int) -> None:
    defaults = Settings()
    settings = Settings(
        database_url=database,
        response_cache=False,
        cache_poll_seconds=3600,
        budget_anonymous=10**9,
        budget_anonymous_restore_rate=10**9,
        rate_limit_anonymous=10**9,
    )
    app = create_app(settings)
    limit, max_page = settings.max_query_cost, settings.max_page_size
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://bench", timeout=120
        ) as c:

            async def send(query: str) -> tuple[httpx.Response, float]:
                started = time.process_time()
                response = await c.post("/graphql", json={"query": query})
                return response, time.process_time() - started

            await send(
                "query Warm { reviews(first: 100) { edges { node { text seo { jsonLd } } } } }"
            )
            print(
                f"limits: max_query_cost {limit}, max_response_bytes {defaults.max_response_bytes}, "
                f"aliases {defaults.max_query_aliases}; {runs} runs each, least CPU"
            )
            print(
                f"{'shape':32} {'scale':>5} {'points':>6} {'status':>6} {'CPU ms':>7} {'bytes':>9} {'us/pt':>6}"
            )
            worst: tuple[float, str] = (0.0, "")
            for name, (shape, scale) in SHAPES.items():
                k = largest(shape, scale, limit, max_page)
                if k is None:
                    print(f"{name:32} {'-':>5} (over the limit at any scale)")
                    continue
                query = shape(k)
                cpus, response = [], None
                for _ in range(runs):
                    response, cpu = await send(query)
                    cpus.append(cpu)
                assert response is not None
                cpu = min(cpus)
                points = cost_of(query, max_page)
                code = response.json().get("errors", [{}])[0].get("extensions", {}).get("code", "")
                status = f"{response.status_code}" + (f" {code}" if code else "")
                print(
                    f"{name:32} {k:>5} {points:>6} {status:>6} {cpu * 1000:>7.1f} "
                    f"{len(response.content):>9} {cpu * 1e6 / max(points, 1):>6.1f}"
                )
                worst = max(worst, (cpu, name))
            print(f"worst: {worst[1]}, {worst[0] * 1000:.1f} ms of CPU")
            levels = 24
            bomb = (
                "query Bomb { ...F0 } "
                + " ".join(
                    f"fragment F{i} on Query {{ ...F{i + 1} ...F{i + 1} }}" for i in range(levels)
                )
                + f" fragment F{levels} on Query {{ __typename }}"
            )
            cpus = []
            for _ in range(runs):
                response, cpu = await send(bomb)
                cpus.append(cpu)
            code = response.json()["errors"][0]["extensions"]["code"]
            print(
                f"fragment bomb F0..F{levels} (2^{levels} spreads): {response.status_code} {code}, "
                f"{min(cpus) * 1000:.2f} ms of CPU for the whole request"
            )
            started = time.process_time()
            for _ in range(1000):
                cost_of(bomb, max_page)
            print(
                f"  its cost walk alone: {(time.process_time() - started):.3f} ms each (parse included)"
            )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database", help="a demo catalog's URL (default: a new one)")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="compendium-abuse-"))
    try:
        database = args.database or demo_database(tmp)
        asyncio.run(run(database, args.runs))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()

"""The scale benchmark's load (bench/scale.py): `compendium serve` on a catalog, and
concurrent clients sending the three kinds of requests, timed."""

from __future__ import annotations

import asyncio
import json
import os
import random
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench.scale_build import ROOT, Catalog, free_port, rss_kb

REVIEW_QUERY = """query ReviewPage($slug: String!) { review(slug: $slug) { title
  byline { text notice } sections { key heading body(format: HTML) } faq { question answer }
  seo { title description canonicalPath jsonLd } publishedAt lastReviewedAt } }"""
LIST_QUERY = """query ReviewList($condition: String!) { reviews(first: 20,
  filter: {condition: [$condition], research: LIMITED}, orderBy: UPDATED_AT_DESC) {
  totalCount pageInfo { hasNextPage endCursor }
  edges { node { id slug title research updatedAt compound { name } condition { name } } } } }"""
SEARCH_QUERY = """query Search($q: String!) { search(query: $q, first: 20) { totalCount
  edges { score node { __typename ... on Review { slug title } ... on Compound { slug name }
  ... on Condition { slug name } } } } }"""
HEADERS = {"accept": "application/graphql-response+json", "content-type": "application/json"}


def start_server(cat: Catalog, log_dir: Path) -> None:
    cat.port = free_port()
    log = open(log_dir / f"server-{cat.label}.log", "wb")  # noqa: SIM115 - closed with the process
    cat.server = subprocess.Popen(
        [sys.executable, "-m", "server.cli", "serve", "--port", str(cat.port)],
        cwd=ROOT,
        env={
            **os.environ,
            "COMPENDIUM_DATABASE_URL": cat.url,
            # Every request executes: we measure the database and query path, not the cache.
            "COMPENDIUM_RESPONSE_CACHE": "false",
            # Many requests from one address: no rate limit or budget here.
            "COMPENDIUM_RATE_LIMIT_ANONYMOUS": "100000000",
            "COMPENDIUM_RATE_LIMIT_AUTHENTICATED": "100000000",
            "COMPENDIUM_BUDGET_ANONYMOUS": "1000000000",
            "COMPENDIUM_BUDGET_ANONYMOUS_RESTORE_RATE": "1000000000",
            "COMPENDIUM_WORKERS": "1",
        },
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    log.close()


def wait_ready(cat: Catalog, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert cat.server is not None
        if cat.server.poll() is not None:
            raise SystemExit(f"the {cat.label} server exited ({cat.server.returncode})")
        try:
            if httpx.get(f"http://127.0.0.1:{cat.port}/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"the {cat.label} server did not become ready")


def stop_server(cat: Catalog) -> None:
    if cat.server is not None and cat.server.poll() is None:
        cat.server.terminate()
        try:
            cat.server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            cat.server.kill()
            cat.server.wait()


def payloads(cat: Catalog, kind: str, n: int, rng: random.Random) -> list[bytes]:
    if kind == "review":
        items = [(REVIEW_QUERY, {"slug": rng.choice(cat.slugs)}) for _ in range(n)]
    elif kind == "list":
        items = [(LIST_QUERY, {"condition": rng.choice(cat.conditions)}) for _ in range(n)]
    else:
        items = [(SEARCH_QUERY, {"q": rng.choice(cat.search_words)}) for _ in range(n)]
    return [json.dumps({"query": q, "variables": v}).encode() for q, v in items]


@dataclass
class Run:
    latencies_ms: list[float]
    seconds: float
    errors: int
    first_error: str


async def load(
    client: httpx.AsyncClient, cat: Catalog, bodies: list[bytes], concurrency: int
) -> Run:
    url = f"http://127.0.0.1:{cat.port}/graphql"
    latencies: list[float] = []
    errors = 0
    first_error = ""
    queue = iter(bodies)
    assert cat.server is not None
    pid = cat.server.pid

    async def worker() -> None:
        nonlocal errors, first_error
        for body in queue:
            t0 = time.perf_counter()
            response = await client.post(url, content=body, headers=HEADERS)
            latencies.append((time.perf_counter() - t0) * 1000)
            if response.status_code != 200 or b'"errors"' in response.content:
                errors += 1
                first_error = first_error or f"{response.status_code} {response.text[:300]}"

    async def sample() -> None:
        while True:
            cat.rss_peak_kb = max(cat.rss_peak_kb, rss_kb(pid))
            await asyncio.sleep(0.1)

    sampler = asyncio.create_task(sample())
    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    seconds = time.perf_counter() - started
    sampler.cancel()
    cat.rss_peak_kb = max(cat.rss_peak_kb, rss_kb(pid))
    return Run(latencies, seconds, errors, first_error)


def check_answers(cat: Catalog) -> str:
    """One request of each kind, checked; returns a line describing the list's size."""
    base = f"http://127.0.0.1:{cat.port}/graphql"
    rng = random.Random(1)
    bodies = {kind: payloads(cat, kind, 1, rng)[0] for kind in ("review", "list", "search")}
    answers = {}
    for kind, body in bodies.items():
        r = httpx.post(base, content=body, headers=HEADERS, timeout=30)
        data = r.json()
        if r.status_code != 200 or "errors" in data:
            raise SystemExit(f"{cat.label} {kind}: {r.status_code} {r.text[:500]}")
        answers[kind] = data["data"]
    if answers["review"]["review"] is None:
        raise SystemExit(f"{cat.label}: a published review is not visible to readers")
    listed = answers["list"]["reviews"]
    if not listed["edges"]:
        raise SystemExit(f"{cat.label}: the filtered list is empty")
    return f"{listed['totalCount']} LIMITED reviews in one condition"


async def measure(
    cats: list[Catalog], kinds: list[str], requests: int, rounds: int, concurrency: int
) -> dict[tuple[str, str], list[Run]]:
    results: dict[tuple[str, str], list[Run]] = {(c.label, k): [] for c in cats for k in kinds}
    rng = random.Random(42)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=60) as client:
        for cat in cats:  # warm-up: connections, the server's first queries
            cat.rss_idle_kb = rss_kb(cat.server.pid)  # type: ignore[union-attr]
            for kind in kinds:
                await load(client, cat, payloads(cat, kind, 50, rng), concurrency)
        for round_ in range(rounds):
            for kind in kinds:
                # Alternate which catalog goes first, so drift in the machine's load
                # does not always favour the same one.
                order = cats if round_ % 2 == 0 else list(reversed(cats))
                for cat in order:
                    # Search is the slowest request: a third as many keep the run short.
                    n = requests if kind != "search" else max(10, requests // 3)
                    bodies = payloads(cat, kind, n, rng)
                    results[(cat.label, kind)].append(await load(client, cat, bodies, concurrency))
    await asyncio.sleep(1.0)
    for cat in cats:
        cat.rss_after_kb = rss_kb(cat.server.pid)  # type: ignore[union-attr]
    return results

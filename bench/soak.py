"""Soak benchmark: a few minutes of mixed traffic against a real server, loopback only.

Starts `compendium serve` (one worker, the production command) over a copy of the
demo catalog, then keeps 16 concurrent clients busy with a mix of

* cache hits: persisted-query GETs of a set of review pages;
* misses: review pages asked with a new document each time (unique aliases), which
  also keeps filling the bounded response cache;
* searches with random words, and list pages with filters;
* mutations: editors rewriting sections, submitting, and a reviewer publishing
  (each publish invalidates cached pages).

It samples the server's resident memory every few seconds and prints, per kind of
request, how many ran, the errors, p50 and p99, and whether memory kept growing
after the warm-up (the first third of the run). The response cache is bounded to
1,000 entries here, so that it is full by the end of the warm-up.

    .venv/bin/python bench/soak.py [--seconds 180] [--connections 16]
"""

from __future__ import annotations

import sys

# bench/http.py would shadow the standard library's `http` package: keep this folder
# off the import path.
sys.path[:] = [p for p in sys.path if p and not p.rstrip("/").endswith("bench")]

import argparse
import asyncio
import hashlib
import json
import os
import random
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.live import free_port

PAGE = """query Page($slug: String!) { review(slug: $slug) { title byline { text }
  sections { key heading body(format: HTML) } faq { question answer } seo { title description } } }"""
WORDS = ["ketamine", "als", "lithium", "pain", "depression", "safety", "curcumin", "migraine", "x"]
ACCEPT = {"accept": "application/graphql-response+json"}


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def cli(env: dict[str, str], *args: str) -> str:
    return subprocess.run(
        [sys.executable, "-m", "server.cli", *args],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()


class Stats:
    def __init__(self) -> None:
        self.latency: dict[str, list[float]] = {}
        self.errors: dict[str, int] = {}
        self.why: dict[str, int] = {}

    def add(self, kind: str, seconds: float, ok: bool, why: str = "") -> None:
        self.latency.setdefault(kind, []).append(seconds * 1000)
        if not ok:
            self.errors[kind] = self.errors.get(kind, 0) + 1
            self.why[why] = self.why.get(why, 0) + 1


async def run(
    base: str, tokens: dict[str, str], slugs: list[str], seconds: float, conns: int, stats: Stats
) -> None:
    digest = hashlib.sha256(PAGE.encode()).hexdigest()
    ext = json.dumps({"persistedQuery": {"version": 1, "sha256Hash": digest}})
    hot = slugs[:40]
    editor = {"authorization": f"Bearer {tokens['editor']}", **ACCEPT}
    reviewer = {"authorization": f"Bearer {tokens['reviewer']}", **ACCEPT}
    deadline = time.monotonic() + seconds
    counter = 0

    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        # Register the persisted document once (as a client does after PERSISTED_QUERY_NOT_FOUND).
        r = await client.post(
            "/graphql",
            json={"query": PAGE, "variables": {"slug": hot[0]}, "extensions": json.loads(ext)},
            headers=ACCEPT,
        )
        assert r.status_code == 200, r.text

        async def one(kind: str) -> None:
            nonlocal counter
            counter += 1
            started = time.perf_counter()
            ok = True
            why = ""
            try:
                if kind == "hit":
                    r = await client.get(
                        "/graphql",
                        params={
                            "extensions": ext,
                            "variables": json.dumps({"slug": random.choice(hot)}),
                        },
                        headers=ACCEPT,
                    )
                elif kind == "miss":
                    q = f'query M{counter} {{ a{counter}: review(slug: "{random.choice(slugs)}") {{ title text(format: PLAIN) }} }}'
                    r = await client.post("/graphql", json={"query": q}, headers=ACCEPT)
                elif kind == "search":
                    words = " ".join(random.sample(WORDS, 2))
                    q = "query S($q: String!) { search(query: $q, first: 10) { totalCount edges { score node { __typename } } } }"
                    r = await client.post(
                        "/graphql", json={"query": q, "variables": {"q": words}}, headers=ACCEPT
                    )
                elif kind == "list":
                    q = "query L($r: Research) { reviews(first: 20, filter: {research: $r}) { totalCount edges { node { slug title } } } }"
                    v = {"r": random.choice(["SPECIFIC", "LIMITED", None])}
                    r = await client.post(
                        "/graphql", json={"query": q, "variables": v}, headers=ACCEPT
                    )
                else:
                    r = await mutate(client, random.choice(slugs[40:]), editor, reviewer)
                if r.status_code != 200:
                    ok, why = False, f"HTTP {r.status_code}"
                else:
                    body = r.json()
                    # Conflicts between concurrent editors are expected answers, not failures.
                    codes = {
                        f"{e.get('extensions', {}).get('code')} {e.get('extensions', {}).get('reason', '')}".strip()
                        for e in body.get("errors", [])
                    }
                    ok = not (codes - {"CONFLICT"})
                    why = ",".join(sorted(codes))
            except Exception as exc:
                ok, why = False, type(exc).__name__
            stats.add(kind, time.perf_counter() - started, ok, why)

        async def worker() -> None:
            kinds = (
                ["hit"] * 60 + ["miss"] * 15 + ["search"] * 10 + ["list"] * 10 + ["mutation"] * 5
            )
            while time.monotonic() < deadline:
                await one(random.choice(kinds))

        await asyncio.gather(*(worker() for _ in range(conns)))


async def mutate(
    client: httpx.AsyncClient, slug: str, editor: dict[str, str], reviewer: dict[str, str]
) -> httpx.Response:
    """Rewrite a section, submit, publish: one editorial round trip on one review."""
    q = f'query R {{ review(slug: "{slug}") {{ revision status section(key: INTRO) {{ revision }} }} }}'
    r = await client.post("/graphql", json={"query": q}, headers=editor)
    review = r.json()["data"]["review"]
    body = f"Introduction revised at {time.time():.3f}."
    r = await client.post(
        "/graphql",
        json={
            "query": "mutation E($s: String!, $r: Int!, $b: String!) { updateSection(review: $s, key: INTRO, expectedRevision: $r, body: $b) { review { revision } } }",
            "variables": {"s": slug, "r": review["section"]["revision"], "b": body},
        },
        headers=editor,
    )
    data = r.json().get("data")
    if not data or not data.get("updateSection"):
        return r
    rev = data["updateSection"]["review"]["revision"]
    r = await client.post(
        "/graphql",
        json={
            "query": "mutation S($s: String!, $r: Int!) { submitForReview(review: $s, expectedRevision: $r) { review { revision } } }",
            "variables": {"s": slug, "r": rev},
        },
        headers=editor,
    )
    data = r.json().get("data")
    if not data or not data.get("submitForReview"):
        return r
    rev = data["submitForReview"]["review"]["revision"]
    return await client.post(
        "/graphql",
        json={
            "query": "mutation P($s: String!, $r: Int!) { publishReview(review: $s, expectedRevision: $r) { review { status } } }",
            "variables": {"s": slug, "r": rev},
        },
        headers=reviewer,
    )


def soak_env(tmp: str) -> dict[str, str]:
    """The server's environment: a database in ``tmp``, no limits, a small cache."""
    return dict(
        os.environ,
        COMPENDIUM_DATABASE_URL=f"sqlite:///{tmp}/soak.db",
        # One address sends everything here: no rate limit or budget in this benchmark.
        COMPENDIUM_RATE_LIMIT_ANONYMOUS="1000000000",
        COMPENDIUM_RATE_LIMIT_AUTHENTICATED="1000000000",
        COMPENDIUM_BUDGET_ANONYMOUS="1000000000",
        COMPENDIUM_BUDGET_ANONYMOUS_RESTORE_RATE="1000000000",
        COMPENDIUM_BUDGET_AUTHENTICATED="1000000000",
        COMPENDIUM_BUDGET_AUTHENTICATED_RESTORE_RATE="1000000000",
        # A cache that fills up during the warm-up: growth after it would be a leak,
        # not the cache doing its job (the default holds 10,000 entries).
        COMPENDIUM_CACHE_MAX_ENTRIES="1000",
    )


def wait_healthy(base: str) -> None:
    for _ in range(100):
        try:
            if httpx.get(f"{base}/healthz").status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.2)


def review_slugs(base: str) -> list[str]:
    slugs_q = "query { reviews(first: 100, orderBy: SLUG_ASC) { edges { node { slug } } } }"
    return [
        e["node"]["slug"]
        for e in httpx.post(f"{base}/graphql", json={"query": slugs_q}).json()["data"]["reviews"][
            "edges"
        ]
    ]


def soak(
    base: str, tokens: dict[str, str], pid: int, args: argparse.Namespace, stats: Stats
) -> list[tuple[float, int]]:
    """The traffic for ``args.seconds``; returns the server's memory, sampled every 2 s."""
    slugs = review_slugs(base)
    samples: list[tuple[float, int]] = []
    started = time.monotonic()

    async def sample() -> None:
        while time.monotonic() - started < args.seconds:
            samples.append((time.monotonic() - started, rss_kb(pid)))
            await asyncio.sleep(2)

    async def everything() -> None:
        await asyncio.gather(
            run(base, tokens, slugs, args.seconds, args.connections, stats), sample()
        )

    asyncio.run(everything())
    samples.append((time.monotonic() - started, rss_kb(pid)))
    return samples


def report(args: argparse.Namespace, stats: Stats, samples: list[tuple[float, int]]) -> None:
    print(f"soak: {args.seconds:.0f}s, {args.connections} connections, one worker, loopback")
    print(f"{'kind':<10}{'requests':>10}{'errors':>8}{'p50 ms':>9}{'p99 ms':>9}")
    total_errors = 0
    for kind in ("hit", "miss", "search", "list", "mutation"):
        lat = sorted(stats.latency.get(kind, []))
        if not lat:
            continue
        p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))]
        errors = stats.errors.get(kind, 0)
        total_errors += errors
        print(f"{kind:<10}{len(lat):>10}{errors:>8}{statistics.median(lat):>9.2f}{p99:>9.2f}")
    warm = [kb for t, kb in samples if t >= args.seconds / 3]
    first, last, peak = warm[0], warm[-1], max(warm)
    growth = (last - first) / first * 100
    print(
        f"server RSS after warm-up: {first / 1024:.0f} MB, at the end: {last / 1024:.0f} MB "
        f"(peak {peak / 1024:.0f} MB, {growth:+.1f}%)"
    )
    if stats.why:
        print("errors by kind of answer:", ", ".join(f"{k}: {n}" for k, n in stats.why.items()))
    print(f"errors: {total_errors}; memory {'stable' if growth < 10 else 'GROWING'} after warm-up")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=180)
    parser.add_argument("--connections", type=int, default=16)
    args = parser.parse_args()
    random.seed(7)
    stats = Stats()
    with tempfile.TemporaryDirectory() as tmp:
        env = soak_env(tmp)
        cli(env, "demo")
        tokens = {
            role: cli(env, "token", "create", "--name", f"soak-{role}", "--role", role)
            for role in ("editor", "reviewer")
        }
        port = free_port()
        with Path(tmp, "server.log").open("wb") as log:
            server = subprocess.Popen(
                [sys.executable, "-m", "server.cli", "serve", "--port", str(port)],
                cwd=ROOT,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=log,
            )
        base = f"http://127.0.0.1:{port}"
        try:
            wait_healthy(base)
            samples = soak(base, tokens, server.pid, args, stats)
        finally:
            server.terminate()
            server.wait(timeout=15)
    report(args, stats, samples)


if __name__ == "__main__":
    main()

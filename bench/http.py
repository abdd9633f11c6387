"""HTTP benchmark: Compendium against a plain Starlette endpoint, measured in the same run.

Starts, over one SQLite demo catalog: the API (uvicorn, one worker) with its
response cache, the API with the response cache off (every request executes: the
miss path), and a plain Starlette app that returns the same JSON as precomputed
bytes. Loads them alternately with wrk (16 connections, loopback only) and prints
requests/s, p50 and p99 for the review-page query and a 100-review list query,
each as a cache hit (a persisted-query GET, answered from the cache) and a miss,
with the ratio to the plain endpoint.

    .venv/bin/python bench/http.py [--duration 10] [--rounds 2]

Needs `wrk` (Debian package `wrk`).
"""

from __future__ import annotations

import sys

# This file is named http.py: keep its folder off the import path so that the
# standard library's `http` package is the one imported below.
sys.path[:] = [p for p in sys.path if p and not p.rstrip("/").endswith("bench")]

import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

REVIEW_QUERY = """query ReviewPage($slug: String!) { review(slug: $slug) { title byline { text }
  sections { key heading body(format: HTML) } faq { question answer } seo { title description canonicalPath } } }"""
LIST_QUERY = """query ReviewList { reviews(first: 100) { totalCount edges { node { slug title
  compound { name } condition { name } } } } }"""

PLAIN_APP = """
import os
from starlette.applications import Starlette
from starlette.responses import Response
from starlette.routing import Route
BODIES = {name: open(os.environ["BENCH_DIR"] + "/" + name + ".json", "rb").read() for name in ("review", "list")}
async def endpoint(request):
    return Response(BODIES[request.path_params["name"]], media_type="application/graphql-response+json")
app = Starlette(routes=[Route("/plain/{name}", endpoint)])
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"server at {url} did not start")


def graphql_get(base: str, query: str, variables: dict | None = None) -> str:
    """A persisted-query GET: the document's hash, not its text (APQ)."""
    import hashlib

    digest = hashlib.sha256(query.encode()).hexdigest()
    params = {"extensions": json.dumps({"persistedQuery": {"version": 1, "sha256Hash": digest}})}
    if variables:
        params["variables"] = json.dumps(variables)
    return f"{base}/graphql?{urllib.parse.urlencode(params)}"


def register(base: str, query: str) -> None:
    """Register the document for APQ (as a client does after PERSISTED_QUERY_NOT_FOUND)."""
    import hashlib

    digest = hashlib.sha256(query.encode()).hexdigest()
    body = json.dumps(
        {
            "query": query,
            "variables": {"slug": "ketamine--als"} if "$slug" in query else {},
            "extensions": {"persistedQuery": {"version": 1, "sha256Hash": digest}},
        }
    ).encode()
    req = urllib.request.Request(
        f"{base}/graphql",
        data=body,
        headers={"Content-Type": "application/json", "Accept": "application/graphql-response+json"},
    )
    with urllib.request.urlopen(req, timeout=10) as r:
        assert b'"errors"' not in r.read()


def fetch(url: str) -> tuple[bytes, str]:
    req = urllib.request.Request(url, headers={"Accept": "application/graphql-response+json"})
    with urllib.request.urlopen(req, timeout=10) as r:
        return r.read(), r.headers.get("X-Cache", "")


def parse_ms(value: str) -> float:
    number, unit = re.match(r"([\d.]+)(\w+)", value).groups()  # type: ignore[union-attr]
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def run_wrk(url: str, duration: int, connections: int) -> dict[str, float]:
    out = subprocess.run(
        [
            "wrk",
            "-t2",
            f"-c{connections}",
            f"-d{duration}s",
            "--latency",
            "-H",
            "Accept: application/graphql-response+json",
            url,
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p50 = parse_ms(re.search(r"\s50%\s+(\S+)", out).group(1))  # type: ignore[union-attr]
    p99 = parse_ms(re.search(r"\s99%\s+(\S+)", out).group(1))  # type: ignore[union-attr]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if errors:
        raise SystemExit(f"{url}: {errors.group(1)} error responses")
    return {"rps": rps, "p50": p50, "p99": p99}


def start_api(env: dict[str, str], port: int, cache: bool) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "server.app:create_app",
            "--factory",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--no-access-log",
        ],
        cwd=ROOT,
        env={
            **env,
            "COMPENDIUM_RESPONSE_CACHE": "true" if cache else "false",
            # A benchmark is many requests from one address: no rate limit or budget here.
            "COMPENDIUM_RATE_LIMIT_ANONYMOUS": "100000000",
            "COMPENDIUM_BUDGET_ANONYMOUS": "1000000000",
            "COMPENDIUM_BUDGET_ANONYMOUS_RESTORE_RATE": "1000000000",
        },
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--duration", type=int, default=10, help="seconds per measurement")
    parser.add_argument("--rounds", type=int, default=2, help="alternations per target")
    parser.add_argument("--connections", type=int, default=16)
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed (apt-get install wrk)")

    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, COMPENDIUM_DATABASE_URL=f"sqlite:///{tmp}/bench.db", BENCH_DIR=tmp)
        subprocess.run(
            [sys.executable, "-m", "server.cli", "demo"],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
        )
        api_port, miss_port, plain_port = free_port(), free_port(), free_port()
        Path(tmp, "plain_app.py").write_text(PLAIN_APP)
        api = start_api(env, api_port, cache=True)
        miss = start_api(env, miss_port, cache=False)
        plain = None
        try:
            base, miss_base = f"http://127.0.0.1:{api_port}", f"http://127.0.0.1:{miss_port}"
            wait(f"{base}/healthz")
            wait(f"{miss_base}/healthz")
            queries = {
                "review": (REVIEW_QUERY, {"slug": "ketamine--als"}),
                "list": (LIST_QUERY, None),
            }
            urls = {}
            for name, (query, variables) in queries.items():
                for kind, server in (("hit", base), ("miss", miss_base)):
                    register(server, query)
                    urls[f"{name} {kind}"] = graphql_get(server, query, variables)
                body, _ = fetch(urls[f"{name} hit"])  # fills the cache
                assert b'"errors"' not in body, body[:300]
                # (Each answer carries its own cost and budget: compare the data.)
                again, x_cache = fetch(urls[f"{name} hit"])
                assert x_cache == "HIT" and json.loads(again)["data"] == json.loads(body)["data"]
                missed, x_cache = fetch(urls[f"{name} miss"])
                assert x_cache == "" and json.loads(missed)["data"] == json.loads(body)["data"]
                Path(tmp, f"{name}.json").write_bytes(body)
            plain = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "uvicorn",
                    "plain_app:app",
                    "--port",
                    str(plain_port),
                    "--log-level",
                    "warning",
                    "--no-access-log",
                ],
                cwd=tmp,
                env=env,
            )
            plain_base = f"http://127.0.0.1:{plain_port}"
            wait(f"{plain_base}/plain/review")
            targets = {
                "plain review": f"{plain_base}/plain/review",
                "review hit": urls["review hit"],
                "review miss": urls["review miss"],
                "plain list": f"{plain_base}/plain/list",
                "list hit": urls["list hit"],
                "list miss": urls["list miss"],
            }
            results: dict[str, list[dict[str, float]]] = {k: [] for k in targets}
            for url in targets.values():  # warm-up
                run_wrk(url, 2, args.connections)
            for _ in range(args.rounds):
                for target, url in targets.items():
                    results[target].append(run_wrk(url, args.duration, args.connections))
        finally:
            for proc in (api, miss, plain):
                if proc is not None:
                    proc.terminate()
                    proc.wait(timeout=10)

    def best(name: str) -> dict[str, float]:
        runs = results[name]
        return {
            "rps": max(r["rps"] for r in runs),
            "p50": min(r["p50"] for r in runs),
            "p99": min(r["p99"] for r in runs),
        }

    print(f"{args.connections} connections, {args.duration}s x {args.rounds} rounds, interleaved")
    print(f"{'target':<14}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}{'vs plain':>10}")
    ratios = {}
    for kind in ("review", "list"):
        base_line = best(f"plain {kind}")
        for name in (f"plain {kind}", f"{kind} hit", f"{kind} miss"):
            r = best(name)
            ratios[name] = (r["rps"] / base_line["rps"], r["p99"])
            print(
                f"{name:<14}{r['rps']:>10.0f}{r['p50']:>10.2f}{r['p99']:>10.2f}"
                f"{ratios[name][0]:>9.3f}x"
            )
    print()
    for name, aim in (("review hit", 0.85), ("list hit", 0.8)):
        ratio, p99 = ratios[name]
        verdict = "met" if ratio >= aim and p99 < 3.0 else "NOT met"
        print(
            f"aim {name}: >= {aim}x plain and p99 < 3 ms: {ratio:.3f}x, p99 {p99:.2f} ms ({verdict})"
        )


if __name__ == "__main__":
    main()

"""HTTP benchmark: Compendium against a plain Starlette endpoint, measured in the same run.

Starts the API (uvicorn, one worker) over a SQLite demo catalog and a plain
Starlette app that returns the same review JSON as precomputed bytes, then loads
them alternately with wrk (16 connections, loopback only) and prints requests/s,
p50 and p99 for the review-page query and a 100-review list query, each as a
ratio to the plain endpoint.

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
    params = {"query": query}
    if variables:
        params["variables"] = json.dumps(variables)
    return f"{base}/graphql?{urllib.parse.urlencode(params)}"


def fetch(url: str) -> bytes:
    req = urllib.request.Request(url, headers={"Accept": "application/graphql-response+json"})
    with urllib.request.urlopen(req, timeout=10) as r:
        return r.read()


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
        api_port, plain_port = free_port(), free_port()
        Path(tmp, "plain_app.py").write_text(PLAIN_APP)
        api = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "server.app:create_app",
                "--factory",
                "--port",
                str(api_port),
                "--log-level",
                "warning",
                "--no-access-log",
            ],
            cwd=ROOT,
            env=env,
        )
        plain = None
        try:
            base = f"http://127.0.0.1:{api_port}"
            wait(f"{base}/healthz")
            urls = {
                "review": graphql_get(base, REVIEW_QUERY, {"slug": "ketamine--als"}),
                "list": graphql_get(base, LIST_QUERY),
            }
            for name, url in urls.items():
                body = fetch(url)
                assert b'"errors"' not in body, body[:300]
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
                "api review": urls["review"],
                "plain list": f"{plain_base}/plain/list",
                "api list": urls["list"],
            }
            results: dict[str, list[dict[str, float]]] = {k: [] for k in targets}
            for url in targets.values():  # warm-up
                run_wrk(url, 2, args.connections)
            for _ in range(args.rounds):
                for target, url in targets.items():
                    results[target].append(run_wrk(url, args.duration, args.connections))
        finally:
            for proc in (api, plain):
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
    for kind in ("review", "list"):
        base_line = best(f"plain {kind}")
        for name in (f"plain {kind}", f"api {kind}"):
            r = best(name)
            print(
                f"{name:<14}{r['rps']:>10.0f}{r['p50']:>10.2f}{r['p99']:>10.2f}"
                f"{r['rps'] / base_line['rps']:>9.3f}x"
            )


if __name__ == "__main__":
    main()

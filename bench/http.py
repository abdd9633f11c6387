"""HTTP benchmark: Compendium's paths against a plain Starlette endpoint, in the same run.

Serves the demo catalog with one uvicorn worker per configuration (the response
cache on; the response cache off, so every request executes) and a plain Starlette
app returning the same bytes as precomputed responses; loads them alternately
with wrk (16 connections, loopback only) and prints requests/s, p50 and p99 of
each path with its ratio to the plain endpoint serving the same bytes, and the
aims of the speed issue:

    review page, uncached (cache off)          >= 0.05x  (stretch 0.1x)
    20-review list, uncached (cache off)       >= 0.02x
    anonymous POST, response-cache hit         >= 0.8x
    persisted-query GET, response-cache hit    >= 0.95x
    review page, uncached, PostgreSQL          (reported; --postgres)
    review page, uncached, editor token        (reported: working copies are never cached)

    .venv/bin/python bench/http.py [--duration 10] [--rounds 2] [--postgres URL]

With two CPUs or more, every server (one uvicorn worker) runs pinned to the last CPU and
wrk to the others (`taskset`), so that each measures one worker's throughput on one
CPU of its own rather than what wrk leaves it.

Needs `wrk` (Debian package `wrk`); the PostgreSQL row needs a server (the default
URL is the test machine's).
"""

from __future__ import annotations

import sys

# This file is named http.py: keep its folder off the import path so that the
# standard library's `http` package is the one imported below.
sys.path[:] = [p for p in sys.path if p and not p.rstrip("/").endswith("bench")]

import argparse
import contextlib
import hashlib
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
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
ACCEPT = "application/graphql-response+json"
REVIEW = """query ReviewPage($slug: String!) { review(slug: $slug) { title byline { text }
  sections { key heading body(format: HTML) } faq { question answer } seo { title description canonicalPath } } }"""
LIST = """query ReviewList { reviews(first: 20) { totalCount edges { node { slug title
  compound { name } condition { name } } } } }"""
PAGE = {"slug": "ketamine--als"}

PLAIN_APP = """
import json, os
from starlette.applications import Starlette
from starlette.responses import Response
from starlette.routing import Route
BODIES = {n[:-5]: open(os.path.join(os.environ["BENCH_DIR"], n), "rb").read()
          for n in os.listdir(os.environ["BENCH_DIR"]) if n.endswith(".json")}
HEADERS = {n[:-8]: json.load(open(os.path.join(os.environ["BENCH_DIR"], n)))
           for n in os.listdir(os.environ["BENCH_DIR"]) if n.endswith(".headers")}
async def endpoint(request):
    return Response(BODIES[request.path_params["name"]], media_type="application/graphql-response+json")
async def with_headers(request):
    name = request.path_params["name"]
    return Response(BODIES[name], media_type="application/graphql-response+json", headers=HEADERS[name])
app = Starlette(routes=[Route("/plain/{name}", endpoint, methods=["GET", "POST"]),
                        Route("/headers/{name}", with_headers, methods=["GET", "POST"])])
"""
# The headers a cache hit sends besides Content-Type and Content-Length (the plain
# endpoint's `/headers/` route sends them too: what the hit costs beyond them).
HIT_HEADERS = ("etag", "cache-control", "vary", "surrogate-key", "x-cache", "x-request-id")
POST_LUA = """
wrk.method = "POST"
wrk.body = [[%s]]
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Accept"] = "application/graphql-response+json"
"""


@dataclass
class Target:
    name: str
    url: str
    plain: str  # the plain endpoint returning the same bytes
    same_headers: bool = False  # also measured against the plain endpoint with its headers
    body: str | None = None  # a POST body
    headers: tuple[str, ...] = ()
    aim: float | None = None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"server at {url} did not start")


def post(base: str, body: dict[str, object], token: str | None = None) -> bytes:
    headers = {"Content-Type": "application/json", "Accept": ACCEPT}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    req = urllib.request.Request(f"{base}/graphql", data=json.dumps(body).encode(), headers=headers)
    with urllib.request.urlopen(req, timeout=30) as r:
        data = r.read()
    assert b'"errors"' not in data, data[:300]
    return data


def persisted_url(base: str, query: str, variables: dict[str, object] | None) -> str:
    """Register the document (APQ) and return its persisted-query GET."""
    digest = hashlib.sha256(query.encode()).hexdigest()
    ext = {"persistedQuery": {"version": 1, "sha256Hash": digest}}
    post(base, {"query": query, "variables": variables or {}, "extensions": ext})
    params = {"extensions": json.dumps(ext)}
    if variables:
        params["variables"] = json.dumps(variables)
    return f"{base}/graphql?{urllib.parse.urlencode(params)}"


def data_of(raw: bytes) -> object:
    return json.loads(raw)["data"]  # (each answer carries its own cost and budget)


# With two CPUs or more, each server runs on the last one and wrk on the others (one
# thread per CPU), so that a server's throughput is not what wrk leaves it of the same CPU.
CPUS = sorted(os.sched_getaffinity(0))
PINNED = len(CPUS) >= 2
SERVER_CPUS = CPUS[-1:] if PINNED else CPUS
CLIENT_CPUS = CPUS[:-1] if PINNED else CPUS


def pinned(cpus: list[int]) -> list[str]:
    """The command prefix that runs a process on ``cpus`` (nothing when not pinning)."""
    return ["taskset", "-c", ",".join(map(str, cpus))] if PINNED else []


def run_wrk(
    target: Target, url: str, duration: int, connections: int, tmp: str
) -> dict[str, float]:
    cmd = [
        *pinned(CLIENT_CPUS),
        "wrk",
        f"-t{min(len(CLIENT_CPUS), 2)}",
        f"-c{connections}",
        f"-d{duration}s",
        "--latency",
        "-H",
        f"Accept: {ACCEPT}",
    ]
    for header in target.headers:
        cmd += ["-H", header]
    if target.body is not None:
        script = Path(tmp, f"post-{uuid.uuid4().hex[:6]}.lua")
        script.write_text(POST_LUA % target.body)
        cmd += ["-s", str(script)]
    out = subprocess.run([*cmd, url], capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p50 = _ms(re.search(r"\s50%\s+(\S+)", out).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"\s99%\s+(\S+)", out).group(1))  # type: ignore[union-attr]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if errors:
        raise SystemExit(f"{target.name}: {errors.group(1)} error responses")
    return {"rps": rps, "p50": p50, "p99": p99}


def _ms(value: str) -> float:
    number, unit = re.match(r"([\d.]+)(\w+)", value).groups()  # type: ignore[union-attr]
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


BENCH_ENV = {
    # A benchmark is many requests from one address: no rate limit or budget here.
    "COMPENDIUM_RATE_LIMIT_ANONYMOUS": "100000000",
    "COMPENDIUM_RATE_LIMIT_AUTHENTICATED": "100000000",
    "COMPENDIUM_BUDGET_ANONYMOUS": "1000000000",
    "COMPENDIUM_BUDGET_ANONYMOUS_RESTORE_RATE": "1000000000",
    "COMPENDIUM_BUDGET_AUTHENTICATED": "1000000000",
    "COMPENDIUM_BUDGET_AUTHENTICATED_RESTORE_RATE": "1000000000",
    "COMPENDIUM_LOG_LEVEL": "warning",
}


@contextlib.contextmanager
def serve(
    env: dict[str, str], cache: bool, cwd: Path = ROOT, app: str = "server.app:create_app"
) -> Iterator[str]:
    port = free_port()
    args = [
        *pinned(SERVER_CPUS),
        sys.executable,
        "-m",
        "uvicorn",
        app,
        "--port",
        str(port),
        "--log-level",
        "warning",
        "--no-access-log",
    ]
    if app.endswith("create_app"):
        args.append("--factory")
    proc = subprocess.Popen(
        args, cwd=cwd, env={**env, **BENCH_ENV, "COMPENDIUM_RESPONSE_CACHE": str(cache).lower()}
    )
    try:
        base = f"http://127.0.0.1:{port}"
        wait(f"{base}/healthz" if app.endswith("create_app") else f"{base}/plain/review")
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def demo(url: str) -> None:
    env = dict(os.environ, COMPENDIUM_DATABASE_URL=url)
    subprocess.run(
        [sys.executable, "-m", "server.cli", "demo"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
    )


def editor_token(url: str) -> str:
    env = dict(os.environ, COMPENDIUM_DATABASE_URL=url)
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "server.cli",
            "token",
            "create",
            "--name",
            f"bench-{uuid.uuid4().hex[:6]}",
            "--role",
            "editor",
        ],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return out.stdout.strip()


@contextlib.contextmanager
def postgres_database(server_url: str) -> Iterator[str]:

    admin = create_engine(
        make_url(server_url).set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT"
    )
    name = f"bench_http_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def record_answers(tmp: str, hit: str, miss: str, token: str) -> tuple[str, bytes, str]:
    """The answers the plain endpoint serves, written to ``tmp`` (review, list, editor,
    hit, get); returns the review page's body, its answer and its persisted GET's URL."""
    page_body = json.dumps({"query": REVIEW, "variables": PAGE})
    review = post(miss, json.loads(page_body))
    listed = post(miss, {"query": LIST})
    as_editor = post(miss, json.loads(page_body), token)
    Path(tmp, "review.json").write_bytes(review)
    Path(tmp, "list.json").write_bytes(listed)
    Path(tmp, "editor.json").write_bytes(as_editor)
    post(hit, json.loads(page_body))  # fills the cache (and links this exact body)
    request = urllib.request.Request(
        f"{hit}/graphql",
        data=page_body.encode(),
        headers={"Content-Type": "application/json", "Accept": ACCEPT},
    )
    with urllib.request.urlopen(request) as r:
        hit_answer = r.read()
        keep_headers(tmp, "hit", r.headers)
    assert data_of(hit_answer) == data_of(review)
    Path(tmp, "hit.json").write_bytes(hit_answer)
    get_url = persisted_url(hit, REVIEW, PAGE)
    with urllib.request.urlopen(urllib.request.Request(get_url, headers={"Accept": ACCEPT})) as r:
        get_answer = r.read()
        assert r.headers.get("X-Cache") == "HIT"
        keep_headers(tmp, "get", r.headers)
    Path(tmp, "get.json").write_bytes(get_answer)
    return page_body, review, get_url


def keep_headers(tmp: str, name: str, headers: object) -> None:
    """The hit's own headers, for the plain endpoint's `/headers/` route."""
    kept = {h: headers[h] for h in HIT_HEADERS}  # type: ignore[index]
    assert all(kept.values()), kept
    Path(tmp, f"{name}.headers").write_text(json.dumps(kept))


def sqlite_targets(hit: str, miss: str, token: str, page_body: str, get_url: str) -> list[Target]:
    return [
        Target("review, uncached", persisted_url(miss, REVIEW, PAGE), "review", aim=0.05),
        Target("20-review list, uncached", persisted_url(miss, LIST, None), "list", aim=0.02),
        Target(
            "anonymous POST, cache hit",
            f"{hit}/graphql",
            "hit",
            body=page_body,
            aim=0.8,
            same_headers=True,
        ),
        Target("persisted GET, cache hit", get_url, "get", aim=0.95, same_headers=True),
        Target(
            "review, uncached, editor token",
            persisted_url(miss, REVIEW, PAGE),
            "editor",
            headers=(f"Authorization: Bearer {token}",),
        ),
    ]


def postgres_target(
    stack: contextlib.ExitStack, server_url: str, env: dict[str, str], page_body: str, review: bytes
) -> Target:
    """The demo catalog in a fresh PostgreSQL database, served uncached."""
    pg_url = stack.enter_context(postgres_database(server_url))
    demo(pg_url)
    pg = stack.enter_context(serve(dict(env, COMPENDIUM_DATABASE_URL=pg_url), cache=False))
    assert data_of(post(pg, json.loads(page_body))) == data_of(review)
    return Target(
        "review, uncached, PostgreSQL",
        persisted_url(pg, REVIEW, PAGE),
        "review",
        aim=0.05,
    )


def measure(
    targets: list[Target], plain: str, args: argparse.Namespace, tmp: str
) -> dict[str, list[dict[str, float]]]:
    """Each target and the plain endpoint serving its bytes, alternately, round after round."""
    results: dict[str, list[dict[str, float]]] = {}
    for target in targets:  # warm-up
        run_wrk(target, target.url, 2, args.connections, tmp)
    for _ in range(args.rounds):
        for target in targets:
            runs_of = [(f"plain {target.plain}", f"{plain}/plain/{target.plain}")]
            if target.same_headers:
                runs_of.append((f"headers {target.plain}", f"{plain}/headers/{target.plain}"))
            for name, url in (*runs_of, (target.name, target.url)):
                runs = results.setdefault(name, [])
                plain_target = Target(name, url, target.plain, body=target.body)
                runs.append(
                    run_wrk(
                        target if name == target.name else plain_target,
                        url,
                        args.duration,
                        args.connections,
                        tmp,
                    )
                )
    return results


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--duration", type=int, default=10, help="seconds per measurement")
    parser.add_argument("--rounds", type=int, default=2, help="alternations per target")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument(
        "--only",
        default="",
        help="measure only the paths whose name contains this text (e.g. 'cache hit')",
    )
    parser.add_argument(
        "--postgres",
        default="postgresql+asyncpg://postgres@127.0.0.1:5432/test",
        help="a PostgreSQL server for the PostgreSQL row ('' to skip it)",
    )
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed (apt-get install wrk)")
    print(f"load average at start: {os.getloadavg()[0]:.2f}", flush=True)
    with tempfile.TemporaryDirectory() as tmp, contextlib.ExitStack() as stack:
        url = f"sqlite:///{tmp}/bench.db"
        env = dict(os.environ, COMPENDIUM_DATABASE_URL=url, BENCH_DIR=tmp)
        demo(url)
        token = editor_token(url)
        hit = stack.enter_context(serve(env, cache=True))
        miss = stack.enter_context(serve(env, cache=False))
        page_body, review, get_url = record_answers(tmp, hit, miss, token)
        targets = [
            t for t in sqlite_targets(hit, miss, token, page_body, get_url) if args.only in t.name
        ]
        if args.postgres and args.only in "review, uncached, PostgreSQL":
            targets.append(postgres_target(stack, args.postgres, env, page_body, review))
        Path(tmp, "plain_app.py").write_text(PLAIN_APP)
        plain = stack.enter_context(serve(env, cache=False, cwd=Path(tmp), app="plain_app:app"))
        results = measure(targets, plain, args, tmp)
    report(targets, results, args)


def report(
    targets: list[Target], results: dict[str, list[dict[str, float]]], args: argparse.Namespace
) -> None:
    def best(name: str) -> dict[str, float]:
        runs = results[name]
        return {
            "rps": max(r["rps"] for r in runs),
            "p50": min(r["p50"] for r in runs),
            "p99": min(r["p99"] for r in runs),
        }

    placement = (
        f"servers on CPU {SERVER_CPUS}, wrk on CPU {CLIENT_CPUS}" if PINNED else "not pinned"
    )
    print(
        f"{args.connections} connections, {args.duration}s x {args.rounds} rounds, interleaved"
        f" with the plain endpoint; {placement}; load average now {os.getloadavg()[0]:.2f}"
    )
    print(f"{'path':<34}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'plain req/s':>13}{'ratio':>9}  aim")
    for t in targets:
        r, p = best(t.name), best(f"plain {t.plain}")
        ratio = r["rps"] / p["rps"]
        aim = "" if t.aim is None else f">= {t.aim}x ({'met' if ratio >= t.aim else 'NOT met'})"
        print(
            f"{t.name:<34}{r['rps']:>9.0f}{r['p50']:>9.2f}{r['p99']:>9.2f}{p['rps']:>13.0f}{ratio:>8.3f}x  {aim}"
        )
    for t in targets:
        if t.same_headers:
            r, h = best(t.name), best(f"headers {t.plain}")
            print(
                f"{t.name} vs the plain endpoint sending the same headers too"
                f" ({h['rps']:.0f} req/s): {r['rps'] / h['rps']:.3f}x"
            )


if __name__ == "__main__":
    main()

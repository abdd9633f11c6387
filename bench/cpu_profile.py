"""Where an uncached request's CPU goes: a profile of the real app, in process.

Builds the demo catalog (SQLite, `compendium demo`), serves it in process with the
response cache off (the subtree cache on, as in production), and sends the review
page (every published slug in turn) or the 20-review list to the ASGI app directly
(no client in the profile). Prints the CPU time per request, then the profile grouped by where the
code lives (our packages, graphql-core, strawberry, SQLAlchemy, Starlette...) and the
functions with the most time of their own:

    .venv/bin/python bench/cpu_profile.py [--path review|list|editor] [--requests 300]

`editor` sends the review page with an editor's token (working copies: nothing cached).
The figures are for one process on a quiet machine; compare runs made the same way.
"""

from __future__ import annotations

import sys

# bench/http.py shares the stdlib's `http` name: keep this folder off the import path.
sys.path[:] = [p for p in sys.path if p and not p.rstrip("/").endswith("bench")]

import argparse
import asyncio
import cProfile
import json
import os
import pstats
import subprocess
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from config import Settings
from server.app import create_app

REVIEW = """query ReviewPage($slug: String!) { review(slug: $slug) { title byline { text }
  sections { key heading body(format: HTML) } faq { question answer } seo { title description canonicalPath } } }"""
LIST = """query ReviewList { reviews(first: 20) { totalCount edges { node { slug title
  compound { name } condition { name } } } } }"""
SLUGS = "query Slugs { reviews(first: 100) { edges { node { slug } } } }"

# Where a function lives, by the start of its file's path below site-packages or ROOT.
GROUPS = (
    ("graphql/", "graphql-core"),
    ("strawberry/", "strawberry"),
    ("sqlalchemy/", "SQLAlchemy"),
    ("sqlmodel/", "SQLAlchemy"),
    ("starlette/", "Starlette"),
    ("httpx/", "httpx (the client)"),
    ("httpcore/", "httpx (the client)"),
    ("anyio/", "asyncio/anyio"),
    ("asyncio/", "asyncio/anyio"),
    ("json/", "json"),
    ("sqlite3/", "sqlite3"),
)
OURS = ("server/", "resolvers/", "schema/", "db/", "content/", "editorial/", "catalog/")


def group_of(filename: str) -> str:
    path = filename.replace("\\", "/")
    if "site-packages/" in path:
        path = path.split("site-packages/", 1)[1]
    elif path.startswith(str(ROOT)):
        rel = path[len(str(ROOT)) + 1 :]
        for prefix in OURS:
            if rel.startswith(prefix):
                return "compendium " + prefix
        return "compendium other"
    else:
        path = path.rsplit("/lib/python3", 1)[-1].split("/", 1)[-1]
    for prefix, name in GROUPS:
        if path.startswith(prefix):
            return name
    if path.startswith("~") or path.startswith("<"):
        return "builtins (C)"
    return "stdlib/other"


def demo_database(tmp: Path) -> str:
    url = f"sqlite:///{tmp / 'demo.db'}"
    env = dict(os.environ, COMPENDIUM_DATABASE_URL=url)
    subprocess.run([sys.executable, "-m", "server.cli", "demo"], cwd=ROOT, env=env, check=True)
    return url


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
            "profile",
            "--role",
            "editor",
        ],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return out.strip()


class Driver:
    """Calls the ASGI app as a server would (one HTTP request, the answer collected), with
    nothing of a client's own in the profile."""

    def __init__(self, app: Any, headers: dict[str, str]) -> None:
        self.app = app
        self.headers = [(k.lower().encode(), v.encode()) for k, v in headers.items()]

    async def post(self, body: dict[str, Any]) -> tuple[int, bytes]:
        raw = json.dumps(body).encode()
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "POST",
            "scheme": "http",
            "path": "/graphql",
            "raw_path": b"/graphql",
            "query_string": b"",
            "root_path": "",
            "headers": [
                *self.headers,
                (b"host", b"p"),
                (b"content-type", b"application/json"),
                (b"content-length", str(len(raw)).encode()),
            ],
            "client": ("127.0.0.1", 50000),
            "server": ("127.0.0.1", 8000),
        }
        sent = False
        status = 0
        chunks: list[bytes] = []

        async def receive() -> dict[str, Any]:
            nonlocal sent
            if sent:
                await asyncio.sleep(3600)  # (a client that stays connected)
            sent = True
            return {"type": "http.request", "body": raw, "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await self.app(scope, receive, send)
        return status, b"".join(chunks)


async def run(url: str, path: str, requests: int, top: int, save: str | None = None) -> None:
    settings = Settings(
        database_url=url,
        response_cache=False,
        cache_poll_seconds=3600,
        budget_anonymous=10**9,
        budget_anonymous_restore_rate=10**9,
        budget_authenticated=10**9,
        budget_authenticated_restore_rate=10**9,
        rate_limit_anonymous=10**9,
        rate_limit_authenticated=10**9,
    )
    # No Accept-Encoding, as wrk in bench/http.py: the answer is not compressed.
    headers = {"Accept": "application/graphql-response+json"}
    if path == "editor":
        headers["Authorization"] = f"Bearer {editor_token(url)}"
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        client = Driver(app, headers)
        _, raw = await client.post({"query": SLUGS})
        slugs = [e["node"]["slug"] for e in json.loads(raw)["data"]["reviews"]["edges"]]
        bodies = (
            [{"query": LIST}]
            if path == "list"
            else [{"query": REVIEW, "variables": {"slug": s}} for s in slugs]
        )

        async def send(i: int) -> None:
            status, content = await client.post(bodies[i % len(bodies)])
            if status != 200 or b'"errors"' in content:
                raise SystemExit(f"bad answer: {status} {content[:300]!r}")

        for i in range(max(50, len(bodies))):  # warm: documents parsed, subtrees filled
            await send(i)
        started = time.process_time()
        for i in range(requests):
            await send(i)
        plain = (time.process_time() - started) / requests
        profiler = cProfile.Profile()
        profiler.enable()
        for i in range(requests):
            await send(i)
        profiler.disable()
    print(f"{path}: {requests} requests, {plain * 1000:.3f} ms CPU each (without the profiler)")
    stats = pstats.Stats(profiler)
    total = stats.total_tt  # type: ignore[attr-defined]
    by_group: dict[str, float] = defaultdict(float)
    for (filename, _line, _name), (_cc, _nc, tt, _ct, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        by_group[group_of(filename)] += tt
    print(
        f"profiled: {total / requests * 1000:.3f} ms per request; own time by where the code lives:"
    )
    for name, tt in sorted(by_group.items(), key=lambda kv: -kv[1]):
        print(f"  {name:28} {tt / requests * 1e6:8.1f} us  {tt / total:6.1%}")
    print(f"top {top} functions by own time:")
    stats.sort_stats("tottime").print_stats(top)
    if save:
        stats.dump_stats(save)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--path", choices=["review", "list", "editor"], default="review")
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--top", type=int, default=15)
    parser.add_argument("--database", help="an existing database URL (default: a new demo)")
    parser.add_argument("--save", help="also write the profile here (for pstats or snakeviz)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database or demo_database(Path(tmp))
        asyncio.run(run(url, args.path, args.requests, args.top, args.save))


if __name__ == "__main__":
    main()

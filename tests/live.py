"""A real Compendium server on a free port, for tests that talk HTTP to it.

Imported by tests/conftest.py (``pytest_plugins = ["tests.live"]``). The
``live_server`` fixture loads the demo catalog into a fresh SQLite database
(``python -m server.cli demo``; ``live_database`` is its URL), starts uvicorn on
``create_app`` and yields the base URL, e.g. ``"http://127.0.0.1:54321"``.
``live_editor_token`` is the secret of an editor token in that database.

It also holds what the node-driven tests need: :func:`require` (skip, or fail
under CI, when a tool is missing) and the ``graphiql_assets`` fixture (builds
the GraphiQL bundle with ``node web/build.mjs`` when node_modules is there but
the bundle is not).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from server.graphiql import ASSETS_DIR, assets_built

ROOT = Path(__file__).resolve().parent.parent
NODE_MODULES = ROOT / "node_modules"
CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
STARTUP_TIMEOUT = 30.0
DEMO_TIMEOUT = 300.0
STOP_TIMEOUT = 5.0


def in_ci() -> bool:
    return bool(os.environ.get("CI"))


def require(condition: bool, reason: str) -> None:
    """Skip when ``condition`` is false, except under CI (``CI`` set), where nothing may skip."""
    if condition:
        return
    if in_ci():
        pytest.fail(f"{reason} (CI is set, so this fails instead of skipping)", pytrace=False)
    pytest.skip(reason)


def node() -> str | None:
    return shutil.which("node")


def require_node_package(package: str) -> str:
    """The path of ``node``, once it and ``node_modules/<package>`` are there."""
    node_bin = node()
    require(node_bin is not None, "node is not installed")
    require(
        (NODE_MODULES / package / "package.json").is_file(),
        f"node_modules/{package} is missing: run `npm ci`",
    )
    assert node_bin is not None
    return node_bin


@pytest.fixture(scope="session")
def graphiql_assets() -> Path:
    """The built GraphiQL bundle, built now if node_modules allows and it is missing."""

    if not assets_built() and node() and (NODE_MODULES / "esbuild" / "package.json").is_file():
        build = subprocess.run(
            [str(node()), "web/build.mjs"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        if build.returncode != 0:
            pytest.fail(
                f"`node web/build.mjs` failed:\n{build.stdout}\n{build.stderr}", pytrace=False
            )
    require(
        assets_built(), f"the GraphiQL bundle is not in {ASSETS_DIR}: run `npm ci && npm run build`"
    )
    return ASSETS_DIR


def output_text(value: str | bytes | None) -> str:
    """A subprocess's captured output as text (TimeoutExpired may hold bytes)."""
    if isinstance(value, bytes):
        return value.decode(errors="replace")
    return value or ""


def run_node_script(
    node: str, script: Path, *args: str, timeout: int = 120
) -> tuple[subprocess.CompletedProcess[str], dict]:  # type: ignore[type-arg]
    """Run one of the tests/browser scripts; return the process and the JSON summary it prints."""
    try:
        run = subprocess.run(
            [node, str(script), *args],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        pytest.fail(
            f"{script.name} did not finish in {timeout} s:\n"
            f"{output_text(exc.stdout)}\n{output_text(exc.stderr)}"
        )
    try:
        summary = json.loads(run.stdout)
    except json.JSONDecodeError:
        pytest.fail(
            f"{script.name} printed no summary (exit {run.returncode}):\n{run.stdout}\n{run.stderr}"
        )
    return run, summary


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _tail(path: Path, limit: int = 8000) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return ""
    return text[-limit:]


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=STOP_TIMEOUT)


def _wait_healthy(process: subprocess.Popen[bytes], base: str, stderr_path: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    last_error = "no answer yet"
    with httpx.Client(timeout=2.0) as client:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                pytest.fail(
                    f"the server exited with code {process.returncode} during start-up; "
                    f"its stderr:\n{_tail(stderr_path)}",
                    pytrace=False,
                )
            try:
                response = client.get(f"{base}/healthz")
            except httpx.HTTPError as exc:
                last_error = f"{type(exc).__name__}: {exc}"
            else:
                if response.status_code == 200:
                    return
                last_error = f"GET /healthz answered {response.status_code}"
            time.sleep(0.2)
    pytest.fail(
        f"the server did not become healthy within {STARTUP_TIMEOUT:.0f} s ({last_error}); "
        f"its stderr:\n{_tail(stderr_path)}",
        pytrace=False,
    )


def _live_env(database_url: str) -> dict[str, str]:
    env = dict(os.environ)
    env["COMPENDIUM_DATABASE_URL"] = database_url
    env["PYTHONUNBUFFERED"] = "1"
    return env


@pytest.fixture(scope="module")
def live_database(databases: Any, migrated_template: str) -> Iterator[str]:
    """URL of a fresh database (of the backend under test) with the demo catalog loaded."""
    url = databases.create(template=migrated_template)
    demo = subprocess.run(
        [sys.executable, "-m", "server.cli", "demo"],
        cwd=ROOT,
        env=_live_env(url),
        capture_output=True,
        text=True,
        timeout=DEMO_TIMEOUT,
        check=False,
    )
    if demo.returncode != 0:
        pytest.fail(
            f"`python -m server.cli demo` failed with code {demo.returncode}:\n"
            f"{demo.stdout[-4000:]}\n{demo.stderr[-8000:]}",
            pytrace=False,
        )
    yield url
    databases.drop(url)


@pytest.fixture(scope="module")
def live_editor_token(live_database: str) -> str:
    """The secret of an editor token in the live server's database, made with the CLI."""
    command = ["token", "create", "--name", "live-editor", "--role", "editor"]
    created = subprocess.run(
        [sys.executable, "-m", "server.cli", *command],
        cwd=ROOT,
        env=_live_env(live_database),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if created.returncode != 0:
        pytest.fail(f"`compendium token create` failed:\n{created.stderr[-4000:]}", pytrace=False)
    return created.stdout.strip()


@pytest.fixture(scope="module")
def live_server(live_database: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Base URL of a running server (`compendium serve`) over ``live_database``."""
    with serving(live_database, tmp_path_factory.mktemp("live")) as base:
        yield base


@contextlib.contextmanager
def serving(database_url: str, tmp: Path, **settings: Any) -> Iterator[str]:
    """Run `compendium serve` (the production command, with its protocol guards) on a free
    port with the given ``COMPENDIUM_*`` settings; yields its base URL."""
    env = _live_env(database_url)
    for key, value in settings.items():
        env[f"COMPENDIUM_{key.upper()}"] = str(value)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    stdout_path = tmp / f"serve-{port}.stdout.log"
    stderr_path = tmp / f"serve-{port}.stderr.log"
    with stdout_path.open("wb") as stdout, stderr_path.open("wb") as stderr:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "server.cli",
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
            ],
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=stdout,
            stderr=stderr,
        )
    try:
        _wait_healthy(process, base, stderr_path)
        yield base
    finally:
        _stop(process)

"""`serve`: the GraphQL API under uvicorn, with its connection guards and log format."""

from __future__ import annotations

import os
import sys
import tempfile
from typing import Annotated

import typer
import uvicorn

from config import get_settings
from server.cli.common import fail
from server.observability import logging_config, resolve_log_format
from server.protocol import GuardedHttpToolsProtocol


def serve_cmd(
    host: Annotated[
        str | None, typer.Option(help="Interface to bind (default from settings).")
    ] = None,
    port: Annotated[int | None, typer.Option(help="Port (default from settings).")] = None,
    workers: Annotated[int | None, typer.Option(help="Worker processes.")] = None,
) -> None:
    """Serve the GraphQL API with uvicorn."""
    settings = get_settings()
    try:
        # Logs go to stderr: readable text in a terminal, JSON lines when redirected.
        log_format = resolve_log_format(settings.log_format, sys.stdout, sys.stderr)
    except ValueError as exc:
        fail(str(exc), 2)
    worker_count = workers or settings.workers
    if worker_count > 1:
        # Each worker writes its metrics here; /metrics adds them up (prometheus_client's
        # multiprocess mode). Workers are spawned, so they see this before importing it.
        os.environ.setdefault(
            "PROMETHEUS_MULTIPROC_DIR", tempfile.mkdtemp(prefix="compendium-metrics-")
        )
        os.environ["COMPENDIUM_WORKERS"] = str(worker_count)
    uvicorn.run(
        "server.app:create_app",
        factory=True,
        host=host or settings.host,
        port=port or settings.port,
        workers=worker_count,
        proxy_headers=True,
        # A slow or silent client must not hold a connection for long: idle keep-alive
        # connections close after 5 s, request headers must arrive within the header
        # timeout (GuardedHttpToolsProtocol), bodies within the body timeout, and past
        # `limit_concurrency` connections new ones get 503 at once.
        http=GuardedHttpToolsProtocol,
        timeout_keep_alive=5,
        limit_concurrency=settings.limit_concurrency,
        backlog=2048,
        timeout_graceful_shutdown=10,
        log_config=logging_config(log_format, settings.log_level),
        log_level=settings.log_level,
    )

"""Operations' endpoints: liveness (`/healthz`), readiness (`/readyz`), metrics."""

from __future__ import annotations

import contextlib
import logging
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from db import queries
from server.auth import metrics_access
from server.observability import metrics_body, observe_pool

log = logging.getLogger("compendium")


def routes(state: Any) -> list[Route]:
    """The three probes over the app's state (its database, once the lifespan opened it)."""

    async def healthz(_request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(_request: Request) -> Response:
        database = state.database
        session = database.session()
        try:
            await database.run(session, queries.ping)
            if database.replica is not None:
                replica = database.session(read=True)
                try:
                    await database.run(replica, queries.ping)
                finally:
                    await database.close(replica)
        except Exception as exc:  # any failure means: not ready
            log.warning("readiness check failed: %s", type(exc).__name__)
            return JSONResponse(
                {"status": "unavailable", "database": "unreachable"}, status_code=503
            )
        finally:
            with contextlib.suppress(Exception):  # a dead connection: the pool drops it
                await database.close(session)
        return JSONResponse({"status": "ok", "database": "ok"})

    async def metrics(request: Request) -> Response:
        refused = await metrics_access(request, state)
        if refused is not None:
            return refused
        if state.database is not None:
            observe_pool(state.database)
        body, content_type = metrics_body()
        return Response(body, media_type=content_type, headers={"Cache-Control": "no-store"})

    return [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
        Route("/metrics", metrics, methods=["GET"]),
    ]

"""The Starlette application factory."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from types import SimpleNamespace
from typing import Any

import redis.asyncio as redis
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp

from config import Settings, get_settings
from db import subscriptions
from db.engine import Database
from schema import schema
from server.cache.poller import ChangePoller
from server.cache.response_cache import ResponseCache
from server.cache.stores import MemoryStore, RedisStore
from server.cached_response import NegotiatedGZip
from server.deadlines import Deadlines
from server.effects import AppEffects
from server.fastpath import FastPath
from server.graphiql import routes as graphiql_routes
from server.graphql.endpoint import GraphQLHTTP
from server.observability import FOLD_SECONDS, fold
from server.persisted import PersistedQueries
from server.preview.routes import routes as preview_routes
from server.probes import routes as probe_routes
from server.purge import http_purge_hook
from server.ratelimit import MemoryLimiter, RedisLimiter, policies
from server.scheduler import Scheduler
from server.subtrees import SubtreeCache
from server.webhooks import WebhookDispatcher

log = logging.getLogger("compendium")


async def fold_tallies() -> None:
    while True:
        await asyncio.sleep(FOLD_SECONDS)
        fold()


def make_rate_limiter(settings: Settings) -> Any:
    """Request counts and cost budgets: in process by default; in Redis when configured,
    so every worker and instance shares them."""
    window = settings.rate_limit_window_seconds
    if settings.redis_url:
        client = redis.from_url(settings.redis_url, socket_timeout=0.5, socket_connect_timeout=0.5)
        return RedisLimiter(client, window, prefix=f"{settings.redis_prefix}rl:")
    return MemoryLimiter(window)


def make_cache(settings: Settings, database: Database) -> tuple[Any, Any, Any]:
    """The response cache, the persisted-query registry and the change-log poller."""
    redis_client = None
    store: Any
    if settings.redis_url:
        redis_client = redis.from_url(
            settings.redis_url, socket_timeout=0.5, socket_connect_timeout=0.5
        )
        store = RedisStore(
            redis_client, f"{settings.redis_prefix}cache:", settings.cache_ttl_seconds
        )
    else:
        store = MemoryStore(settings.cache_max_entries, settings.cache_max_bytes)
    cache = ResponseCache(store, settings.cache_ttl_seconds, enabled=settings.response_cache)
    if settings.cdn_purge_url:
        cache.purge_hooks.append(http_purge_hook(settings.cdn_purge_url, settings.webhook_secret))
    persisted = PersistedQueries(
        database, settings.trusted_documents_only, redis_client, settings.redis_prefix
    )
    return (
        cache,
        persisted,
        ChangePoller(database, cache, settings.cache_poll_seconds, list(settings.locales)),
    )


async def _has_subscriptions(database: Database) -> bool:
    """Whether the dispatcher has subscriptions to serve (the first one created later
    starts it: ``WebhookDispatcher.wake``)."""
    session = database.session()
    try:
        return bool(await database.run(session, subscriptions.has_subscriptions))
    except Exception:
        log.warning("webhook subscriptions unavailable at start-up", exc_info=True)
        return False
    finally:
        await database.close(session)


def create_app(settings: Settings | None = None) -> Starlette:
    settings = settings or get_settings()

    # (The budgets of anonymous clients and of tokens.)
    state = SimpleNamespace(settings=settings, database=None, policies=policies(settings))
    state.effects = AppEffects(state)  # what a mutation's commit purges and wakes
    state.deadlines = Deadlines()  # of body reads, the fast path's and the full path's

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        database = Database(settings.database_url, settings.database_read_url)
        state.database = database
        state.rate_limiter = make_rate_limiter(settings)
        state.cache, state.persisted, poller = make_cache(settings, database)
        state.subtrees = SubtreeCache(settings.subtree_cache_bytes)
        state.cache.start()
        if settings.response_cache:
            try:
                await poller.poll()  # where the change log is now: the cache starts empty
            except Exception:
                log.warning("change log unavailable at start-up", exc_info=True)
            poller.start()
        # The cache-hit path's tallies reach the counters within a second, traffic or not.
        folding = asyncio.get_running_loop().create_task(fold_tallies())
        # Always there, so a mutation can call state.webhooks.wake() unconditionally.
        webhooks = WebhookDispatcher(database, settings)
        state.webhooks = webhooks
        # Scheduled publishes and unpublishes (every process; claimed in the database).
        state.scheduler = Scheduler(database, settings, state.effects)
        try:
            if settings.webhook_urls or await _has_subscriptions(database):
                webhooks.start()
            state.scheduler.start()
            yield
        finally:
            folding.cancel()
            await state.scheduler.stop()
            await webhooks.stop()
            await poller.stop()
            await state.cache.close()
            await state.rate_limiter.close()
            await database.dispose()

    graphql = GraphQLHTTP(schema._schema, state)

    routes: list[BaseRoute] = [
        Route("/graphql", graphql.handle, methods=["GET", "POST", "PUT", "PATCH", "DELETE"]),
        *probe_routes(state),  # /healthz, /readyz, /metrics (server/probes.py)
        *preview_routes(),  # /preview/{slug} and /preview/session (server/preview.py)
    ]
    routes.extend(graphiql_routes())

    middleware = [Middleware(NegotiatedGZip, minimum_size=1024)]
    if settings.cors_origins:
        middleware.insert(
            0,
            Middleware(
                CORSMiddleware,
                allow_origins=settings.cors_origins,
                allow_methods=["GET", "POST"],
                allow_headers=["Authorization", "Content-Type", "Accept"],
                max_age=600,
            ),
        )
    app = Compendium(routes=routes, middleware=middleware, lifespan=lifespan)
    app.state.compendium = state  # engine and settings, for tests and operations
    return app


class Compendium(Starlette):
    """The app: Starlette, with the cache-hit fast path (``server.fastpath``) outside every
    other layer, Starlette's own error middleware included: a repeated anonymous request
    is answered before anything else runs (anything it does not answer goes on down)."""

    def build_middleware_stack(self) -> ASGIApp:
        return FastPath(super().build_middleware_stack(), state=self.state.compendium)

"""The scheduled-publish runner: an asyncio task of the app's lifespan that wakes every
``scheduler_interval`` seconds and runs the due actions (``editorial/scheduling.py``).

Every process may run one (workers, instances, cron with `compendium schedule run-due`):
the actions are claimed in the database, so each runs once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from datetime import datetime, timedelta

from config import Settings
from db.engine import Database
from editorial.scheduling import RunReport, run_due
from resolvers.context import Effects

log = logging.getLogger("compendium.scheduler")


def runner_name() -> str:
    """Who claims: host, process and a random part (two runners of one process differ)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class Scheduler:
    def __init__(self, database: Database, settings: Settings, effects: Effects):
        self.database = database
        self.settings = settings
        self.effects = effects
        self.name = runner_name()
        self._task: asyncio.Task[None] | None = None

    async def run_once(self, now: datetime | None = None) -> RunReport:
        """One pass over the actions due (at ``now``, by default the present)."""
        report = await run_due(
            self.database,
            self.effects,
            self.name,
            interval=timedelta(days=self.settings.review_interval_days),
            webhook_urls=self.settings.webhook_urls,
            lease=timedelta(seconds=self.settings.scheduler_lease_seconds),
            now=now,
        )
        if report.done or report.failed:
            log.info("scheduled actions: %s done, %s failed", report.done, report.failed)
        return report

    def start(self) -> None:
        if self._task is None and self.settings.scheduler_interval > 0:
            self._task = asyncio.create_task(self._run(), name="compendium-scheduler")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.settings.scheduler_interval)
            try:
                await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception:
                # Database down, locked, ...: the loop must outlive it; claims expire.
                log.exception("scheduled actions pass failed")

"""``compendium schedule run-due``: the scheduled actions that are due, run once each."""

from __future__ import annotations

import asyncio

from config import get_settings
from db.engine import Database
from editorial.scheduling import RunReport
from resolvers.context import NoEffects
from server.cli.common import out
from server.scheduler import Scheduler


async def _run_due() -> RunReport:
    settings = get_settings()
    database = Database(settings.database_url)
    try:
        # No cache in this process: the serving processes' change-log pollers purge
        # theirs, and their webhook dispatchers deliver the events at their next poll.
        return await Scheduler(database, settings, NoEffects()).run_once()
    finally:
        await database.dispose()


def schedule_run_due() -> None:
    """Run the scheduled actions that are due now, once each (for cron, or when the app's
    own runner is off: COMPENDIUM_SCHEDULER_INTERVAL=0)."""
    report = asyncio.run(_run_due())
    out.print(
        f"{len(report.done)} scheduled action(s) done, {len(report.failed)} failed"
        + (f" (failed: {', '.join(map(str, report.failed))})" if report.failed else ""),
        highlight=False,
    )

"""Publish webhooks: deliver the outbox (``db.webhooks``) from a background task.

Each row is POSTed to its URL with an HMAC-SHA256 signature over a timestamp and
the exact body (see :func:`signature_header` and the README). A 2xx answer
delivers it; anything else (another status, a redirect, a timeout, a connection
error) is retried with exponential backoff until ``webhook_max_attempts``, then
the row is FAILED with its last error. Rows are leased when claimed, so several
processes (``--workers``) can run a dispatcher each and never send a row twice
while a lease holds.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import logging
import random
import time
from datetime import datetime, timedelta
from typing import Any

import httpx

from config import Settings
from db import webhooks
from db.engine import Database
from db.models import utcnow
from editorial import announce

log = logging.getLogger("compendium.webhooks")

USER_AGENT = "Compendium-Webhooks/1"
SIGNATURE_HEADER = "Compendium-Signature"


def sign(secret: str, timestamp: int, body: str) -> str:
    """Hex HMAC-SHA256 of ``f"{timestamp}.{body}"`` keyed with the secret."""
    message = f"{timestamp}.{body}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signature_header(secret: str, timestamp: int, body: str) -> str:
    return f"t={timestamp},v1={sign(secret, timestamp, body)}"


def origin(url: str) -> str:
    """What logs name of a URL: paths and queries often carry a receiver's token."""
    try:
        u = httpx.URL(url)
    except Exception:
        return "<invalid url>"
    return f"{u.scheme}://{u.host}" + (f":{u.port}" if u.port else "")


def backoff_seconds(attempts: int, base: float, cap: float) -> float:
    """Wait after the ``attempts``-th failure: base * 2**(attempts-1), capped, plus up
    to 10% jitter so receivers coming back up are not hit by every retry at once."""
    delay = min(cap, base * 2 ** max(attempts - 1, 0))
    return delay + random.uniform(0, delay / 10)


def _has_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


class WebhookDispatcher:
    """Delivers due outbox rows: one pass with :meth:`deliver_due`, or continuously
    from :meth:`start` (every ``webhook_poll_seconds``, and at once on :meth:`wake`)."""

    def __init__(
        self,
        database: Database,
        settings: Settings,
        *,
        batch_size: int = 50,
        backoff_base: float = 2.0,
        backoff_cap: float = 3600.0,
        lease_seconds: float | None = None,
        due_check_seconds: float = 60.0,
    ):
        self.database = database
        self.settings = settings
        self.batch_size = batch_size
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        # Sends of a batch run concurrently, each cut off after the timeout, so a
        # lease of several timeouts outlives a pass unless the process stalls.
        self.lease_seconds = (
            lease_seconds
            if lease_seconds is not None
            else max(60.0, 4 * settings.webhook_timeout_seconds)
        )
        # How often the loop looks for reviews that fell due for review (and announces
        # each once per due date: editorial.announce.due_for_review).
        self.due_check_seconds = due_check_seconds
        self._next_due_check = 0.0
        self._wake = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None
        self._client: httpx.AsyncClient | None = None

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        if self.running:
            return
        if self.settings.webhook_urls and not self.settings.webhook_secret:
            # Unsigned events could be forged by anyone who can reach a receiver.
            # (Subscriptions sign with their own secrets.)
            raise RuntimeError(
                "COMPENDIUM_WEBHOOK_SECRET must be set when COMPENDIUM_WEBHOOK_URLS is"
            )
        self._stopping = False
        self._task = asyncio.create_task(self._run(), name="compendium-webhooks")

    def wake(self) -> None:
        """Deliver now rather than at the next poll (e.g. right after a publish); starts
        the loop when it is not running (the first subscription, its first event)."""
        self._wake.set()
        if not self.running and not self._stopping and _has_loop():
            self.start()

    async def stop(self) -> None:
        """Let an in-flight pass finish (its sends are bounded by the timeout), then
        end the loop. A pass cut short only leaves leases that expire and retry."""
        self._stopping = True
        self._wake.set()
        task, self._task = self._task, None
        if task is not None:
            try:
                await asyncio.wait_for(task, timeout=self.settings.webhook_timeout_seconds + 5)
            except TimeoutError:
                log.warning("webhook dispatcher did not stop in time; cancelled")
            except Exception:
                log.exception("webhook dispatcher ended with an error")
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def _run(self) -> None:
        while not self._stopping:
            self._wake.clear()
            try:
                await self.check_due()
                # A full batch may mean more is due: go again without waiting.
                while await self.deliver_due() >= self.batch_size and not self._stopping:
                    pass
            except Exception:
                # Database down, locked, ... : the loop must outlive it.
                log.exception("webhook delivery pass failed")
            if self._stopping:
                break
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    self._wake.wait(), timeout=self.settings.webhook_poll_seconds
                )

    async def check_due(self, force: bool = False) -> int:
        """Every ``due_check_seconds`` (or now, with ``force``): announce the reviews that
        fell due for review, each once per due date. Returns how many were announced."""
        if not force and time.monotonic() < self._next_due_check:
            return 0
        self._next_due_check = time.monotonic() + self.due_check_seconds
        return await self.database.transact(
            announce.due_for_review, self.settings.webhook_urls, utcnow()
        )

    def client(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(
                follow_redirects=False,
                timeout=self.settings.webhook_timeout_seconds,
                headers={"User-Agent": USER_AGENT},
            )
        return self._client

    async def deliver_due(self) -> int:
        """One pass: claim up to ``batch_size`` due rows, send them concurrently and
        record each outcome. Returns how many rows were attempted."""
        now = utcnow()
        session = self.database.session()
        try:
            due = await self.database.run(session, webhooks.has_due, now)
        finally:
            await self.database.close(session)
        if not due:
            return 0
        claimed = await self.database.transact(
            webhooks.claim_signed, now, self.batch_size, self.lease_seconds
        )
        if claimed:
            results = await asyncio.gather(
                *(self._deliver(row, secret) for row, secret in claimed), return_exceptions=True
            )
            for (row, _), result in zip(claimed, results, strict=True):
                if isinstance(result, BaseException):
                    # Not recorded: the lease expires and the row is tried again.
                    log.error(
                        "webhook delivery %s: could not record the outcome: %s",
                        row.id,
                        type(result).__name__,
                    )
        return len(claimed)

    async def _deliver(self, row: Any, secret: str | None) -> None:
        """Send one row signed with ``secret`` (its subscription's; None: the configured
        URL list's) and record the outcome. Unsigned rows are never sent."""
        if row.subscription_id is None:
            secret = self.settings.webhook_secret
        if secret:
            error = await self._send(row, secret)
        elif row.subscription_id is None:
            error = "COMPENDIUM_WEBHOOK_SECRET is not set"
        else:
            error = "the subscription was deleted"
        if error is None:
            await self.database.transact(webhooks.mark_delivered, row.id, utcnow())
            log.info("webhook %s %s delivered to %s", row.id, row.event, origin(row.url))
            return
        retry_at: datetime | None = None
        if secret and row.attempts < self.settings.webhook_max_attempts:
            delay = backoff_seconds(row.attempts, self.backoff_base, self.backoff_cap)
            retry_at = utcnow() + timedelta(seconds=delay)
        await self.database.transact(
            webhooks.mark_attempt_failed, row.id, row.attempts, error, retry_at
        )
        log.warning(
            "webhook %s %s to %s failed (attempt %d/%d): %s%s",
            row.id,
            row.event,
            origin(row.url),
            row.attempts,
            self.settings.webhook_max_attempts,
            error,
            "" if retry_at else "; giving up",
        )

    async def _send(self, row: Any, secret: str) -> str | None:
        """POST one row; None when delivered, else why not (no secret in it)."""
        timestamp = int(time.time())
        headers = {
            "Content-Type": "application/json",
            "Compendium-Event": row.event,
            "Compendium-Delivery": str(row.id),
            SIGNATURE_HEADER: signature_header(secret, timestamp, row.body),
        }
        try:
            # httpx's timeout bounds each phase; this bounds the whole exchange, so
            # a receiver trickling its answer cannot hold the pass (and the lease).
            async with asyncio.timeout(self.settings.webhook_timeout_seconds):
                response = await self.client().post(
                    row.url, content=row.body.encode(), headers=headers
                )
        except TimeoutError:
            return f"timed out after {self.settings.webhook_timeout_seconds:g}s"
        except Exception as exc:  # refused, reset, TLS, a malformed URL, ...
            return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        if 200 <= response.status_code < 300:
            return None
        error = f"HTTP {response.status_code}"
        if response.is_redirect:
            error += f" (redirect to {response.headers.get('location', '?')}, not followed)"
        return error

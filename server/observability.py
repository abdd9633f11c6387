"""Metrics (Prometheus), structured logs with request ids, and optional tracing.

* ``/metrics`` serves Prometheus text: GraphQL requests and latencies by operation
  name, response-cache hits and misses, errors by code, rate-limited requests and
  database pool use. With several workers (``compendium serve --workers N``) each
  process writes its numbers to ``PROMETHEUS_MULTIPROC_DIR`` and ``/metrics`` adds
  them up, whichever worker answers the scrape.
* Logs are JSON lines (``COMPENDIUM_LOG_FORMAT=json``) or readable text lines
  (``text``); ``auto``, the default, writes text to a terminal and JSON lines
  elsewhere. Both carry the request id that the ``X-Request-Id`` response header
  echoes, so a client's report leads to the server's lines.
* Tracing: when the OpenTelemetry API is installed (``pip install -e '.[otel]'``),
  each GraphQL request is a span; configure the exporter with the usual
  ``OTEL_*`` variables (e.g. under ``opentelemetry-instrument``).
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
import os
import re
import time
from collections.abc import Iterator
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client import multiprocess as prometheus_multiprocess

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "compendium_request_id", default=None
)

MULTIPROCESS = bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))

REQUESTS = Counter(
    "compendium_graphql_requests_total",
    "GraphQL requests by operation name and HTTP status.",
    ["operation", "status"],
)
LATENCY = Histogram(
    "compendium_graphql_request_duration_seconds",
    "Time to answer a GraphQL request, by operation name.",
    ["operation"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
CACHE = Counter(
    "compendium_response_cache_lookups_total",
    "Response cache lookups: hit (before parsing, by raw query string), hit after parsing "
    "the request, or miss.",
    ["result"],
)
ERRORS = Counter("compendium_graphql_errors_total", "GraphQL errors by code.", ["code"])
POOL = Gauge(
    "compendium_db_pool_connections",
    "Database connections of the pool, by state.",
    ["state"],
    multiprocess_mode="livesum",
)

# Operation names come from clients. Only names of trusted documents and of requests
# with a verified token become labels (sane ones, and only so many): anonymous clients
# send any name they like, so their free-form operations share one label.
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
_MAX_NAMES = 500
_names: set[str] = set()
FREE_FORM = "(free-form)"


def operation_label(name: Any, trusted: bool = True) -> str:
    if not isinstance(name, str) or not name:
        return "(anonymous)"
    if not trusted:
        return FREE_FORM
    if name in _names:
        return name
    if not _NAME.match(name) or len(_names) >= _MAX_NAMES:
        return "(other)"
    _names.add(name)
    return name


def log_name(name: Any) -> str:
    """An operation name for a log line: the client's when it is a sane name (logs are no
    label set, so any number of them is fine)."""
    if not isinstance(name, str) or not name:
        return "(anonymous)"
    return name if _NAME.match(name) else "(other)"


def count_errors(payload: dict[str, Any]) -> None:
    for error in payload.get("errors") or ():
        code = (error.get("extensions") or {}).get("code", "INTERNAL_SERVER_ERROR")
        ERRORS.labels(str(code)).inc()


def observe_pool(database: Any) -> None:
    pool = getattr(getattr(database, "engine", None), "pool", None)
    if pool is None or not hasattr(pool, "checkedout"):
        return
    POOL.labels("in_use").set(pool.checkedout())
    POOL.labels("idle").set(pool.checkedin())


class Tally:
    """Increments of one labelled counter kept as an integer (``pending += 1`` costs a
    twentieth of ``Counter.inc``) and folded into the counter by ``fold``: at most a
    second late (``tick``), and always before a scrape. For the cache-hit path."""

    __slots__ = ("counter", "pending")

    def __init__(self, counter: Any):
        self.counter = counter
        self.pending = 0
        _TALLIES.append(self)


_TALLIES: list[Tally] = []
FOLD_SECONDS = 1.0
_next_fold = 0.0


def fold() -> None:
    """Add every tally's pending increments to its counter."""
    global _next_fold
    _next_fold = time.monotonic() + FOLD_SECONDS
    for tally in _TALLIES:
        pending, tally.pending = tally.pending, 0
        if pending:
            tally.counter.inc(pending)


def tick() -> None:
    """Fold the tallies when the last fold is a second old."""
    if time.monotonic() >= _next_fold:
        fold()


def metrics_body() -> tuple[bytes, str]:
    fold()  # (this process's tallies; other workers fold theirs each second)
    if MULTIPROCESS:
        registry = CollectorRegistry()
        prometheus_multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(), CONTENT_TYPE_LATEST


# --- tracing --------------------------------------------------------------------------------

try:  # pragma: no cover - depends on an optional package
    from opentelemetry import trace as _trace

    _tracer: Any = _trace.get_tracer("compendium")
except ImportError:  # pragma: no cover
    _tracer = None


@contextlib.contextmanager
def span(name: str, **attributes: Any) -> Iterator[Any]:
    if _tracer is None:
        yield None
        return
    with _tracer.start_as_current_span(name, attributes=attributes) as current:
        yield current


# --- logs -----------------------------------------------------------------------------------

# (uvicorn adds `color_message`, the same text with terminal colour codes.)
_RESERVED = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "color_message"}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request id, extra fields."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = request_id_var.get()
        if request_id:
            out["request_id"] = request_id
        for key, value in _extras(record).items():
            out[key] = (
                value if isinstance(value, (str, int, float, bool, type(None))) else str(value)
            )
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False)


def _extras(record: logging.LogRecord) -> dict[str, Any]:
    return {
        key: value
        for key, value in record.__dict__.items()
        if key not in _RESERVED and not key.startswith("_")
    }


class TextFormatter(logging.Formatter):
    """One readable line for a terminal: time, level, logger, message, then the request id
    and the extra fields as ``key=value``."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)-7s %(name)s: %(message)s", "%H:%M:%S")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        fields = _extras(record)
        request_id = request_id_var.get()
        if request_id:
            fields = {"request_id": request_id, **fields}
        if not fields:
            return line
        first, newline, rest = line.partition("\n")  # (a traceback stays below the line)
        pairs = " ".join(f"{key}={value}" for key, value in fields.items())
        return f"{first}  {pairs}{newline}{rest}"


LOG_FORMATS = ("auto", "text", "json")


def resolve_log_format(log_format: str, *streams: Any) -> str:
    """``text`` or ``json``. ``auto`` (the default): text when every one of ``streams``
    (stdout, and stderr where the logs go) is a terminal, JSON lines otherwise (a file, a
    pipe, a container's log collector). ValueError for another value."""
    value = log_format.strip().lower()
    if value not in LOG_FORMATS:
        raise ValueError(f"COMPENDIUM_LOG_FORMAT must be one of {', '.join(LOG_FORMATS)}")
    if value != "auto":
        return value
    terminal = all(getattr(s, "isatty", None) is not None and s.isatty() for s in streams)
    return "text" if streams and terminal else "json"


def logging_config(log_format: str, level: str) -> dict[str, Any]:
    """A `logging.config.dictConfig` for uvicorn and Compendium (JSON or text lines)."""
    formatter = {
        "()": "server.observability.JsonFormatter"
        if log_format == "json"
        else "server.observability.TextFormatter"
    }
    handler = {
        "class": "logging.StreamHandler",
        "formatter": "default",
        "stream": "ext://sys.stderr",
    }
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"default": formatter},
        "handlers": {"default": handler},
        "loggers": {
            "uvicorn": {"handlers": ["default"], "level": level.upper(), "propagate": False},
            "uvicorn.error": {"level": level.upper()},
            # Compendium logs each GraphQL request itself, with its operation and request id.
            "uvicorn.access": {"handlers": [], "level": "WARNING", "propagate": False},
            "compendium": {"handlers": ["default"], "level": level.upper(), "propagate": False},
        },
    }

"""Runtime configuration, read from ``COMPENDIUM_*`` environment variables."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Annotated, Any

from pydantic import ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

# A BCP 47 language tag as content negotiation uses them (RFC 5646 "langtag" without
# extensions or private use): language, then optional script, region and variants.
_TAG = re.compile(
    r"(?P<language>[a-z]{2,3})(?:-(?P<script>[a-z]{4}))?(?:-(?P<region>[a-z]{2}|[0-9]{3}))?"
    r"(?P<variants>(?:-(?:[a-z0-9]{5,8}|[0-9][a-z0-9]{3}))*)",
    re.IGNORECASE,
)


def locale_tag(tag: Any) -> str:
    """A BCP 47 tag in its canonical case (``es-mx`` -> ``es-MX``); ValueError if it is none."""
    m = _TAG.fullmatch(tag.strip()) if isinstance(tag, str) else None
    if m is None:
        shown = repr(tag)[:60]
        raise ValueError(
            f"{shown} is not a BCP 47 language tag (e.g. 'en', 'es', 'es-MX', 'zh-Hant-TW')"
        )
    out = m["language"].lower()
    if m["script"]:
        out += "-" + m["script"].title()
    if m["region"]:
        out += "-" + m["region"].upper()
    return out + m["variants"].lower()


def _csv(value: Any) -> Any:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


def fallback_chains(locales: list[str], fallbacks: dict[str, str]) -> dict[str, list[str]]:
    """Each configured locale's chain: itself, its fallbacks, the default locale last.

    ValueError for a fallback naming a locale that is not configured, one given for the
    default locale, or a cycle."""
    default, known = locales[0], set(locales)
    for source, target in fallbacks.items():
        for tag in (source, target):
            if tag not in known:
                raise ValueError(
                    f"fallback '{source}:{target}' names '{tag}', which is not in "
                    f"COMPENDIUM_LOCALES ({','.join(locales)})"
                )
        if source == default:
            raise ValueError(f"the default locale '{default}' cannot fall back to another")
    chains = {}
    for tag in locales:
        chain = [tag]
        while chain[-1] in fallbacks:
            nxt = fallbacks[chain[-1]]
            if nxt in chain:
                raise ValueError(f"fallback cycle: {' -> '.join([*chain, nxt])}")
            chain.append(nxt)
        if chain[-1] != default:
            chain.append(default)  # every chain ends in the default locale
        chains[tag] = chain
    return chains


class Settings(BaseSettings):
    """Every setting is documented in the README's configuration table."""

    model_config = SettingsConfigDict(env_prefix="COMPENDIUM_", extra="ignore")

    database_url: str = "sqlite:///./compendium.db"
    # Optional read replica for anonymous readers (same kind of database).
    database_read_url: str | None = None
    # Browser origins allowed to call the API (CORS); empty: same origin only.
    cors_origins: list[str] = []
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    # Logs of `compendium serve`: JSON lines with request ids (json), readable text lines
    # (text), or auto: text when run in a terminal, JSON lines otherwise.
    log_format: str = "auto"
    log_level: str = "info"
    # Largest `first` a connection accepts; past it the query is refused.
    max_page_size: int = 100

    # Abuse limits (README "Limits and security"). Queries past these answer
    # QUERY_TOO_COMPLEX with the computed value and the limit.
    max_query_depth: int = 12
    max_query_aliases: int = 30
    max_query_tokens: int = 5_000
    # Points of work (server/cost.py; one point is about 10 µs of CPU) one request may
    # ask for: anonymously (about 100 ms at most), and with a token.
    max_query_cost: int = 10_000
    max_query_cost_authenticated: int = 50_000
    # Bytes of answer one request may produce (RESPONSE_TOO_LARGE past them).
    max_response_bytes: int = 4 * 1024 * 1024
    max_response_bytes_authenticated: int = 32 * 1024 * 1024
    # Cost budgets (leaky buckets of points, like Shopify's): what a client may hold and
    # how many points it regains per second; per address without a token, per token with
    # one. A query needs its requested cost available, else THROTTLED.
    budget_anonymous: int = 50_000
    budget_anonymous_restore_rate: int = 2_500
    budget_authenticated: int = 250_000
    budget_authenticated_restore_rate: int = 12_500
    # Schema introspection for anonymous clients (editors always have it, for GraphiQL).
    introspection: bool = True
    # Request bodies: anonymous clients, and requests carrying a token (catalog imports).
    max_body_bytes: int = 1_048_576
    max_body_bytes_authenticated: int = 10_485_760
    # Seconds a client may take to send its body, and a request may take to execute.
    body_timeout_seconds: float = 10.0
    execution_timeout_seconds: float = 10.0
    # Seconds a connection may take to send its request headers (slowloris guard).
    header_timeout_seconds: float = 10.0
    # Bytes of one request's line and headers together; more get 431 and the connection
    # is closed, as they arrive.
    max_header_bytes: int = 16 * 1024
    # Connections a worker serves at once; more get 503 from uvicorn.
    limit_concurrency: int = 1_000
    # Open connections per client address (IPv6: per /64) and worker; more are answered
    # 429 and closed at once. Trusted proxies (FORWARDED_ALLOW_IPS) are not capped.
    max_connections_per_address: int = 64
    # Requests per window: per client address without a token, per token with one.
    rate_limit_anonymous: int = 600
    rate_limit_authenticated: int = 3_000
    rate_limit_window_seconds: int = 60
    # Shared state (rate limits, response cache) for several workers and instances.
    redis_url: str | None = None
    # Namespace of Compendium's keys in that Redis (several deployments may share one).
    redis_prefix: str = "compendium:"

    # Response cache for anonymous queries (README "Caching"): in process, or in Redis
    # when `redis_url` is set. Entries live at most `cache_ttl_seconds`.
    response_cache: bool = True
    # Answers below immutable objects (a published revision), reused by their selection's
    # shape whatever the request (server/subtrees.py), in each process; 0 turns it off.
    subtree_cache_bytes: int = 64 * 1024 * 1024
    cache_ttl_seconds: int = 300
    cache_max_entries: int = 10_000
    # Bytes the in-process response cache may hold (bodies, gzip copies, fast-path links).
    cache_max_bytes: int = 64 * 1024 * 1024
    # How often each process reads the database's change log to drop entries that
    # other processes (the CLI, other workers or instances) made stale.
    cache_poll_seconds: float = 1.0
    # Cache-Control of anonymous GET responses (browsers and CDNs).
    cache_max_age: int = 60
    cache_stale_while_revalidate: int = 300
    # A URL that receives the surrogate keys to purge after each change (CDN purge hook).
    cdn_purge_url: str | None = None
    # Anonymous clients may run only documents registered with `compendium persisted add`.
    trusted_documents_only: bool = False
    # /metrics: a bearer token that may read it (besides admin API tokens), and client
    # addresses or networks that may read it without one. Neither set: admins only.
    metrics_token: str = ""
    metrics_allow: list[str] = []
    # Preview sessions (the cookie of /preview): lifetime, and a key mixed into their
    # signatures (unset: each token's stored hash alone signs its sessions).
    preview_session_seconds: int = 3600
    session_secret: str = ""
    # How long a published review stays current before it is due for re-review.
    review_interval_days: int = 365
    # A fact change regenerates the drafts of the reviews it affects in the same
    # transaction when there are at most this many; past it they are flagged stale
    # and `regenerateStaleReviews` (or `compendium generate --stale`) catches up.
    inline_regeneration_limit: int = 500
    # Publish webhooks: every URL gets an HMAC-SHA256-signed JSON POST on publish,
    # unpublish and archive (see the README).
    webhook_urls: list[str] = []
    webhook_secret: str = ""
    webhook_max_attempts: int = 8
    webhook_timeout_seconds: float = 5.0
    # How often the dispatcher looks for due deliveries (a publish in the same
    # process wakes it at once; this catches other processes and retries).
    webhook_poll_seconds: float = 2.0
    # Scheduled publishes: how often each app process looks for due actions (0: never;
    # `compendium schedule run-due` then runs them), and how long a runner's claim on
    # one holds before another runner may take it over (a crashed runner's actions).
    scheduler_interval: float = 5.0
    scheduler_lease_seconds: float = 300.0

    # Locales (README "Locales"): BCP 47 tags, the first is the default
    # locale (the catalog's own fields, and every page served today). Fallbacks name the
    # next locale to try (`es-MX:es,de:en`); every chain ends in the default locale.
    locales: Annotated[list[str], NoDecode] = ["en"]
    locale_fallbacks: Annotated[dict[str, str], NoDecode] = {}

    @field_validator("locales", mode="before")
    @classmethod
    def _locales(cls, value: Any) -> list[str]:
        tags = [locale_tag(t) for t in _csv(value)]
        if not tags:
            raise ValueError("at least one locale is required (the first is the default)")
        twice = sorted({t for t in tags if tags.count(t) > 1})
        if twice:
            raise ValueError(f"locale listed twice: {', '.join(twice)}")
        return tags

    @field_validator("locale_fallbacks", mode="before")
    @classmethod
    def _fallbacks(cls, value: Any) -> dict[str, str]:
        if isinstance(value, dict):
            return {locale_tag(k): locale_tag(v) for k, v in value.items()}
        out: dict[str, str] = {}
        for pair in _csv(value):
            source, sep, target = pair.partition(":")
            if not sep or ":" in target:
                raise ValueError(f"'{pair}' is not 'locale:fallback' (e.g. 'es-MX:es')")
            tag = locale_tag(source)
            if tag in out:
                raise ValueError(f"two fallbacks for '{tag}'")
            out[tag] = locale_tag(target)
        return out

    @model_validator(mode="after")
    def _chains(self) -> Settings:
        fallback_chains(self.locales, self.locale_fallbacks)
        return self

    @property
    def default_locale(self) -> str:
        return self.locales[0]

    @property
    def locale_chains(self) -> dict[str, list[str]]:
        """Each locale's fallback chain, the default locale's first (content/locales.py)."""
        return fallback_chains(self.locales, self.locale_fallbacks)


def settings_errors() -> list[str]:
    """What is wrong with the environment's settings, one line each (none: they load);
    the command line prints these and stops before doing anything."""
    try:
        get_settings()
    except ValidationError as exc:
        lines = []
        for e in exc.errors(include_url=False):
            name = "_".join(str(p) for p in e["loc"]).upper()
            where = f"COMPENDIUM_{name}" if name else "configuration"
            lines.append(f"{where}: {str(e['msg']).removeprefix('Value error, ')}")
        return lines
    return []


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()

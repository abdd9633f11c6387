"""Per-client request rates and cost budgets, in process or in Redis.

Two limits per client (its address, an IPv6 address by its /64; or its token):

* **requests** per fixed window (``rate_limit_*``), the second line;
* a **cost budget** in the style of Shopify's Admin API: a leaky bucket of
  points (``server.cost``) that fills back at ``restore_rate`` points per second
  up to ``maximum``. A query's requested cost is taken from it before it runs
  (refused with ``THROTTLED`` when not that much is available) and settled
  against the actual cost after; a cached answer costs nothing.

``admit`` does a request's window count and reads (or takes from) its bucket in
one step: one dictionary update in process, one Lua script call in Redis, so
every worker and instance shares both. Store failures are the caller's to
handle (the endpoint lets the request through: a Redis outage must not take
the API down).
"""

from __future__ import annotations

import functools
import hashlib
import ipaddress
import math
import time
from collections import OrderedDict
from typing import Any, NamedTuple


class Policy(NamedTuple):
    """A bucket: holds at most ``maximum`` points, regains ``restore_rate`` per second."""

    maximum: int
    restore_rate: int


class ThrottleStatus(NamedTuple):
    # (Tuples: made on every request, the fast path's included, and cheap to make.)
    maximum: int
    available: int
    restore_rate: int

    def as_json(self) -> dict[str, int]:
        return {
            "maximumAvailable": self.maximum,
            "currentlyAvailable": self.available,
            "restoreRate": self.restore_rate,
        }

    def as_bytes(self) -> bytes:
        """``as_json()`` serialized compactly (the same bytes ``json.dumps`` gives)."""
        return (
            f'{{"maximumAvailable":{self.maximum},"currentlyAvailable":{self.available},'
            f'"restoreRate":{self.restore_rate}}}'
        ).encode()


class Admission(NamedTuple):
    """One request's window count and budget: allowed, or why not and for how long."""

    allowed: bool
    code: str | None  # RATE_LIMITED or THROTTLED when refused
    limit: int  # requests per window
    retry_after: int  # seconds (when refused)
    status: ThrottleStatus


def policies(settings: Any) -> tuple[Policy, Policy]:
    """The budgets of anonymous clients and of tokens."""
    return (
        Policy(settings.budget_anonymous, settings.budget_anonymous_restore_rate),
        Policy(settings.budget_authenticated, settings.budget_authenticated_restore_rate),
    )


def client_key(host: str | None) -> str:
    """The rate-limit identity of a client address: IPv4 as is, IPv6 by its /64 (one
    client usually holds a whole /64), IPv4-mapped IPv6 as the IPv4 address."""
    if not host:
        return "unknown"
    if ":" not in host:
        return host  # IPv4, as the socket (or the trusted proxy's header) gave it
    return _ipv6_key(host)


@functools.lru_cache(maxsize=65_536)
def _ipv6_key(host: str) -> str:
    try:
        address = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return host[:100]
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


def rate_key(kind: str, value: str) -> str:
    # Tokens are secrets: only a hash of them is ever used as a key (or stored in Redis).
    digest = hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()[:32]
    return f"{kind}:{digest}"


@functools.lru_cache(maxsize=65_536)
def address_key(address: str) -> str:
    """``rate_key("addr", address)``, remembered (addresses are no secrets; every request
    needs theirs, the fast path included)."""
    return rate_key("addr", address)


def _retry(missing: float, rate: int) -> int:
    return max(1, math.ceil(missing / rate)) if rate > 0 else 3600


class MemoryLimiter:
    """Windows and buckets in this process (bounded number of keys each)."""

    def __init__(self, window_seconds: int = 60, max_keys: int = 100_000):
        self.window = window_seconds
        self.max_keys = max_keys
        self._counts: OrderedDict[str, tuple[int, int]] = OrderedDict()
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def _bound(self, table: OrderedDict[str, Any], key: str) -> None:
        table.move_to_end(key)
        if len(table) > self.max_keys:
            table.popitem(last=False)

    def _count(self, key: str, add: int) -> tuple[int, int]:
        now = time.time()
        window = int(now // self.window)
        current = self._counts.get(key)
        count = current[1] if current is not None and current[0] == window else 0
        count += add
        if add:
            self._counts[key] = (window, count)
            self._bound(self._counts, key)
        return count, max(1, math.ceil((window + 1) * self.window - now))

    def _level(self, key: str, policy: Policy) -> float:
        now = time.monotonic()
        held = self._buckets.get(key)
        if held is None:
            return float(policy.maximum)
        level, at = held
        return min(float(policy.maximum), level + (now - at) * policy.restore_rate)

    def _store(self, key: str, level: float) -> None:
        self._buckets[key] = (level, time.monotonic())
        self._bound(self._buckets, key)

    def _status(self, policy: Policy, level: float) -> ThrottleStatus:
        return ThrottleStatus(policy.maximum, int(level), policy.restore_rate)

    async def admit(self, key: str, limit: int, bucket: str, policy: Policy) -> Admission:
        """Count one request against ``key`` and read ``bucket``."""
        count, reset = self._count(key, 1)
        status = self._status(policy, self._level(bucket, policy))
        if count > limit:
            return Admission(False, "RATE_LIMITED", limit, reset, status)
        return Admission(True, None, limit, 0, status)

    async def hit(self, key: str, limit: int) -> tuple[bool, int]:
        """Count one request; (allowed, seconds until the window resets)."""
        count, reset = self._count(key, 1)
        return count <= limit, reset

    async def count(self, key: str) -> tuple[int, int]:
        """Requests counted against ``key`` in the current window, and seconds to its end."""
        return self._count(key, 0)

    async def spend(
        self, bucket: str, policy: Policy, cost: int
    ) -> tuple[bool, int, ThrottleStatus]:
        """Take ``cost`` points when that many are available: (taken, retry after, status)."""
        level = self._level(bucket, policy)
        if cost > level:
            return False, _retry(cost - level, policy.restore_rate), self._status(policy, level)
        level -= cost
        self._store(bucket, level)
        return True, 0, self._status(policy, level)

    async def settle(self, bucket: str, policy: Policy, delta: int) -> ThrottleStatus:
        """Adjust by ``delta`` points (actual minus requested: negative gives some back)."""
        level = min(float(policy.maximum), max(0.0, self._level(bucket, policy) - delta))
        self._store(bucket, level)
        return self._status(policy, level)

    async def close(self) -> None:
        pass


# Buckets in Redis: a hash {level, at} per client, refilled from Redis's own clock (one
# clock for every instance). Returns {taken, floor(level), retry after}.
_BUCKET = """
local function refill(key, maximum, rate)
  local t = redis.call('TIME')
  local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
  local held = redis.call('HMGET', key, 'level', 'at')
  local level = maximum
  if held[1] then
    level = math.min(maximum, tonumber(held[1]) + (now - tonumber(held[2])) * rate)
  end
  return level, now
end
local function store(key, level, now, maximum, rate)
  redis.call('HSET', key, 'level', tostring(level), 'at', tostring(now))
  local full = 1
  if rate > 0 then full = math.ceil((maximum - level) / rate) + 1 end
  redis.call('EXPIRE', key, math.max(1, full))
end
"""

_ADMIT = (
    _BUCKET
    + """
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('EXPIRE', KEYS[1], tonumber(ARGV[1])) end
local level = refill(KEYS[2], tonumber(ARGV[2]), tonumber(ARGV[3]))
return {count, math.floor(level)}
"""
)

_SPEND = (
    _BUCKET
    + """
local maximum, rate, cost, mode = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4]
local level, now = refill(KEYS[1], maximum, rate)
if mode == 'spend' then
  if cost > level then
    local retry = 3600
    if rate > 0 then retry = math.max(1, math.ceil((cost - level) / rate)) end
    return {0, math.floor(level), retry}
  end
  level = level - cost
else
  level = math.min(maximum, math.max(0, level - cost))
end
store(KEYS[1], level, now, maximum, rate)
return {1, math.floor(level), 0}
"""
)


class RedisLimiter:
    """Windows and buckets in Redis, shared by every worker and instance."""

    def __init__(self, client: Any, window_seconds: int = 60, prefix: str = "compendium:rl:"):
        self.client = client
        self.window = window_seconds
        self.prefix = prefix
        self._admit = client.register_script(_ADMIT)
        self._spend = client.register_script(_SPEND)

    def _window(self, key: str) -> tuple[str, int]:
        now = time.time()
        window = int(now // self.window)
        return f"{self.prefix}{window}:{key}", max(1, math.ceil((window + 1) * self.window - now))

    async def admit(self, key: str, limit: int, bucket: str, policy: Policy) -> Admission:
        name, reset = self._window(key)
        count, level = await self._admit(
            keys=[name, f"{self.prefix}b:{bucket}"],
            args=[self.window * 2, policy.maximum, policy.restore_rate],
        )
        status = ThrottleStatus(policy.maximum, int(level), policy.restore_rate)
        if int(count) > limit:
            return Admission(False, "RATE_LIMITED", limit, reset, status)
        return Admission(True, None, limit, 0, status)

    async def hit(self, key: str, limit: int) -> tuple[bool, int]:
        name, reset = self._window(key)
        pipe = self.client.pipeline(transaction=True)
        pipe.incr(name)
        pipe.expire(name, self.window * 2)
        count, _ = await pipe.execute()
        return int(count) <= limit, reset

    async def count(self, key: str) -> tuple[int, int]:
        name, reset = self._window(key)
        raw = await self.client.get(name)
        return int(raw or 0), reset

    async def _bucket(self, bucket: str, policy: Policy, cost: int, mode: str) -> list[int]:
        result = await self._spend(
            keys=[f"{self.prefix}b:{bucket}"],
            args=[policy.maximum, policy.restore_rate, cost, mode],
        )
        return [int(v) for v in result]

    async def spend(
        self, bucket: str, policy: Policy, cost: int
    ) -> tuple[bool, int, ThrottleStatus]:
        taken, level, retry = await self._bucket(bucket, policy, cost, "spend")
        return bool(taken), retry, ThrottleStatus(policy.maximum, level, policy.restore_rate)

    async def settle(self, bucket: str, policy: Policy, delta: int) -> ThrottleStatus:
        _, level, _ = await self._bucket(bucket, policy, delta, "settle")
        return ThrottleStatus(policy.maximum, level, policy.restore_rate)

    async def close(self) -> None:
        await self.client.aclose()

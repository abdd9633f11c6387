"""A cached answer and its keys: what is stored, how it is found, how it is sent again."""

from __future__ import annotations

import hashlib
import json
import time
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

GZIP_MIN = 1024
# A gzip member header: deflate, no name, mtime 0, unknown OS.
GZIP_HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"
# The stored body ends with the closing braces of `cost`, `extensions` and the answer.
SPLICE_TAIL = 3
# What an entry and a fast link cost besides their bytes (dicts, sets, tuples, strings).
ENTRY_OVERHEAD = 600
LINK_OVERHEAD = 200
MAX_LINKS = 8
MAX_LINK_BYTES = 8192


def document_hash(query: str) -> str:
    return hashlib.sha256(query.encode("utf-8", "surrogatepass")).hexdigest()


def cache_key(doc_hash: str, operation: str | None, variables: Any, media: str) -> str:
    canonical = json.dumps(variables or {}, sort_keys=True, separators=(",", ":"))
    blob = f"{doc_hash}\n{operation or ''}\n{canonical}\n{media}"
    return hashlib.sha256(blob.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(slots=True)
class Entry:
    """One cached response, with everything needed to send it again.

    ``body`` is the answer as stored, ending in ``"cost":{"requested":N}}}``: each
    answer splices in what is its own (``"actual"`` and the client's
    ``"throttleStatus"``, see server/cached_response.py) before the closing braces.
    ``gz_head`` is the gzip stream of everything before that point, ended with a
    sync flush, so a compressed answer is this prefix, one stored block with the
    spliced tail, and the trailer: no compression per request.
    """

    body: bytes
    media: str
    tags: frozenset[str]
    etag: str
    expires: float  # time.time() after which it is no longer served
    gz_head: bytes | None = None
    gz_crc: int = 0
    headers: dict[str, list[tuple[bytes, bytes]]] = field(default_factory=dict)

    @staticmethod
    def build(body: bytes, media: str, tags: Iterable[str], ttl: float) -> Entry:
        # Weak: the bytes sent differ per client in `extensions.cost` only.
        etag = 'W/"' + hashlib.sha256(body).hexdigest()[:32] + '"'
        entry = Entry(body, media, frozenset(tags), etag, time.time() + ttl)
        entry.compress()
        return entry

    @property
    def head(self) -> bytes:
        """The body up to where each answer's own cost goes."""
        return self.body[:-SPLICE_TAIL]

    def compress(self) -> None:
        if self.gz_head is None and len(self.body) >= GZIP_MIN:
            head = self.head
            deflate = zlib.compressobj(6, zlib.DEFLATED, -15)
            self.gz_head = GZIP_HEADER + deflate.compress(head) + deflate.flush(zlib.Z_SYNC_FLUSH)
            self.gz_crc = zlib.crc32(head)

    @property
    def size(self) -> int:
        """Bytes this entry holds (body, gzip copy, tags, prepared headers), roughly."""
        return (
            len(self.body)
            + len(self.gz_head or b"")
            + sum(len(t) + 64 for t in self.tags)
            + ENTRY_OVERHEAD
        )

    def to_bytes(self) -> bytes:
        head = json.dumps(
            {"m": self.media, "t": sorted(self.tags), "e": self.etag, "x": self.expires}
        ).encode()
        return len(head).to_bytes(4, "big") + head + self.body

    @staticmethod
    def from_bytes(raw: bytes) -> Entry:
        n = int.from_bytes(raw[:4], "big")
        head = json.loads(raw[4 : 4 + n])
        # No gzip copy stored: it is made when an answer asks for it (server/cached_response).
        return Entry(raw[4 + n :], head["m"], frozenset(head["t"]), head["e"], head["x"])


def cache_control(settings: Any) -> str:
    """Cache-Control of anonymous GET answers (browsers and CDNs)."""
    return (
        f"public, max-age={settings.cache_max_age}, "
        f"stale-while-revalidate={settings.cache_stale_while_revalidate}"
    )


def surrogate_keys(tags: Iterable[str]) -> str:
    return " ".join(sorted(tags))

"""Persisted queries: automatic (APQ) and trusted documents.

* **APQ** (Apollo's automatic persisted queries): a client sends
  ``extensions.persistedQuery.sha256Hash``; an unknown hash answers
  ``PERSISTED_QUERY_NOT_FOUND`` and the client retries with the query text,
  which is checked against the hash and remembered (in process, bounded; in
  Redis when configured, so every instance knows it).
* **Trusted documents**: documents registered with ``compendium persisted add``
  (stored in the database). With ``COMPENDIUM_TRUSTED_DOCUMENTS_ONLY``,
  anonymous clients may run only those; editors keep free-form queries.
"""

from __future__ import annotations

import re
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from db.persisted import document_by_hash
from server.cache.entry import document_hash

HASH = re.compile(r"^[0-9a-f]{64}$")
# How long a hash found not to be a trusted document is believed so (no lookup meanwhile).
UNTRUSTED_SECONDS = 10.0


class PersistedError(Exception):
    def __init__(self, message: str, code: str):
        super().__init__(message)
        self.message = message
        self.code = code


@dataclass(slots=True)
class Resolved:
    query: str
    doc_hash: str
    # A trusted document (`compendium persisted add`), as far as resolving found out
    # (metrics label operations by name only for these and for tokens).
    trusted: bool = False


class PersistedQueries:
    def __init__(
        self,
        database: Any,
        trusted_only: bool,
        redis: Any = None,
        prefix: str = "compendium:",
        max_entries: int = 10_000,
    ):
        self.database = database
        self.trusted_only = trusted_only
        self.redis = redis
        self.prefix = prefix
        self.max_entries = max_entries
        self._apq: OrderedDict[str, str] = OrderedDict()
        self._trusted: dict[str, str] = {}
        # Hashes found not to be trusted, and when: asked again within UNTRUSTED_SECONDS,
        # no database lookup (a document registered meanwhile is trusted after that).
        self._untrusted: OrderedDict[str, float] = OrderedDict()

    # --- stores --------------------------------------------------------------------------

    async def trusted(self, doc_hash: str) -> str | None:
        text = self._trusted.get(doc_hash)
        if text is not None:
            return text
        seen = self._untrusted.get(doc_hash)
        if seen is not None and time.monotonic() - seen < UNTRUSTED_SECONDS:
            return None
        session = self.database.session()
        try:
            text = await self.database.run(session, document_by_hash, doc_hash)
        finally:
            await self.database.close(session)
        if text is not None:
            self._trusted[doc_hash] = text
            self._untrusted.pop(doc_hash, None)
        else:
            self._untrusted[doc_hash] = time.monotonic()
            self._untrusted.move_to_end(doc_hash)
            while len(self._untrusted) > self.max_entries:
                self._untrusted.popitem(last=False)
        return text

    async def _apq_get(self, doc_hash: str) -> str | None:
        text = self._apq.get(doc_hash)
        if text is not None:
            self._apq.move_to_end(doc_hash)
            return text
        if self.redis is not None:
            raw = await self.redis.get(f"{self.prefix}apq:{doc_hash}")
            if raw is not None:
                text = raw.decode() if isinstance(raw, bytes) else raw
                self._remember(doc_hash, text)
        return text

    def _remember(self, doc_hash: str, text: str) -> None:
        self._apq[doc_hash] = text
        self._apq.move_to_end(doc_hash)
        while len(self._apq) > self.max_entries:
            self._apq.popitem(last=False)

    async def _apq_put(self, doc_hash: str, text: str) -> None:
        self._remember(doc_hash, text)
        if self.redis is not None:
            await self.redis.set(f"{self.prefix}apq:{doc_hash}", text, ex=7 * 24 * 3600)

    # --- a request ------------------------------------------------------------------------

    async def resolve(self, params: dict[str, Any], anonymous: bool) -> Resolved | None:
        """The query text and its hash, from the text or a persisted hash.

        Returns None when the request has no query at all (the caller reports it)."""
        query = params.get("query")
        extensions = params.get("extensions")
        persisted = extensions.get("persistedQuery") if isinstance(extensions, dict) else None
        restricted = self.trusted_only and anonymous
        if persisted is not None:
            doc_hash = persisted.get("sha256Hash") if isinstance(persisted, dict) else None
            if (
                not isinstance(persisted, dict)
                or persisted.get("version") != 1
                or not isinstance(doc_hash, str)
                or not HASH.match(doc_hash)
            ):
                raise PersistedError(
                    "`extensions.persistedQuery` must be {version: 1, sha256Hash: <64 hex digits>}",
                    "BAD_USER_INPUT",
                )
            if query is None or query == "":
                text = await self.trusted(doc_hash)
                trusted = text is not None
                if text is None and not restricted:
                    text = await self._apq_get(doc_hash)
                if text is None:
                    raise PersistedError("PersistedQueryNotFound", "PERSISTED_QUERY_NOT_FOUND")
                return Resolved(text, doc_hash, trusted)
            if not isinstance(query, str):
                return Resolved(query, doc_hash)  # the caller reports the type
            if document_hash(query) != doc_hash:
                raise PersistedError(
                    "the query does not match `persistedQuery.sha256Hash`", "BAD_USER_INPUT"
                )
            if restricted:
                if await self.trusted(doc_hash) is None:
                    raise PersistedError(
                        "only registered documents may be run here", "PERSISTED_QUERY_NOT_FOUND"
                    )
                return Resolved(query, doc_hash, True)
            await self._apq_put(doc_hash, query)
            return Resolved(query, doc_hash)
        if query is None or query == "" or not isinstance(query, str):
            return None
        doc_hash = document_hash(query)
        if restricted:
            if await self.trusted(doc_hash) is None:
                raise PersistedError(
                    "only registered documents may be run here (send a trusted document's "
                    "`persistedQuery` hash)",
                    "FORBIDDEN",
                )
            return Resolved(query, doc_hash, True)
        return Resolved(query, doc_hash)

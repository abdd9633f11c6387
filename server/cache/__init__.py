"""The response cache: executed results of anonymous queries, invalidated precisely.

What is cached: the exact bytes of successful anonymous query responses (no
errors, no token), keyed by the document's SHA-256, the operation name, the
variables and the media type. Each entry carries the *tags* of the records it
contains (``review:12``, ``compound:3``, ``list:reviews``...), collected while
the query executed; a change invalidates exactly the entries tagged with what it
changed. The same tags are the ``Surrogate-Key`` header a CDN purges by, and
every invalidation is queued for the purge hooks (e.g. a CDN's purge API), which
a background task calls (server/purge.py): once per change and process.

Two stores:

* ``MemoryStore`` (default): an LRU in this process bounded in entries and bytes,
  with expired entries swept in expiry order, plus a *fast map*
  from the raw GET query string to the entry, so a persisted-query GET is
  answered before any JSON decoding or GraphQL parsing (``FastPath``).
* ``RedisStore`` (``COMPENDIUM_REDIS_URL``): entries and tag sets in Redis,
  shared by every worker and instance; invalidation deletes them for everyone.

Changes made by other processes (the CLI, other workers or instances) reach
the in-process store through the database's change log (``ChangePoller``).
"""

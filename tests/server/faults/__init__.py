"""Fault tests (this package): a process killed in the middle of a write leaves a consistent database.

Each test runs the real program in a real process against a real database of the
backend under test (SQLite files or PostgreSQL databases, see tests/databases.py) and
SIGKILLs it while it is writing, at a point observed in the database itself:

- ``compendium import`` of a large catalog, killed while it writes the evidence rows:
  the database is exactly as before (every table, row for row), and a re-run completes;
- ``compendium generate --stale`` with its spawned worker pool, killed after some
  batches committed: every review is entirely its old or entirely its new version,
  only whole batches were written, no worker process outlives the run, and a re-run
  finishes exactly the rest;
- the server (uvicorn) during a burst of ``importCatalog`` mutations: every import is
  applied whole or not at all, every import that was answered is applied, and the
  restarted server answers normally.

Every kill is proven to have hit a running write (exit status -9, the write seen in
progress in the database just before). A run that ends before the kill point is
retried bigger rather than passing vacuously.
"""

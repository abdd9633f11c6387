"""The store: SQLModel tables, engine and sessions, queries, migrations, catalog files."""

"""The database layer: pool, embedded server, migrations and the named queries."""

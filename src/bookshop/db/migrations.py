"""Migrations through yoyo's API, always under yoyo's lock.

The lock is a row in yoyo_lock, so two processes migrating at once take turns; what to apply
or roll back is computed inside the lock, or the second process would redo the first's work.
"""

from collections.abc import Iterator
from contextlib import contextmanager

from yoyo import get_backend, read_migrations
from yoyo.backends.base import DatabaseBackend

from bookshop.db.urls import yoyo_url
from bookshop.paths import MIGRATIONS_DIR

LOCK_TIMEOUT_SECONDS = 60


@contextmanager
def _locked_backend(database_url: str) -> Iterator[DatabaseBackend]:
    with get_backend(yoyo_url(database_url)) as backend, backend.lock(LOCK_TIMEOUT_SECONDS):
        yield backend


def apply(database_url: str) -> list[str]:
    """Applies every pending migration; returns their ids in order."""
    migrations = read_migrations(str(MIGRATIONS_DIR))
    with _locked_backend(database_url) as backend:
        pending = backend.to_apply(migrations)
        backend.apply_migrations(pending)
    return [migration.id for migration in pending]


def rollback(database_url: str, *, count: int | None = 1) -> list[str]:
    """Rolls back the newest `count` applied migrations (all of them for None)."""
    migrations = read_migrations(str(MIGRATIONS_DIR))
    with _locked_backend(database_url) as backend:
        applied = backend.to_rollback(migrations)
        chosen = applied if count is None else applied[:count]
        backend.rollback_migrations(chosen)
    return [migration.id for migration in chosen]


def status(database_url: str) -> list[tuple[str, bool]]:
    """Every migration id with whether it is applied."""
    migrations = read_migrations(str(MIGRATIONS_DIR))
    with get_backend(yoyo_url(database_url)) as backend:
        applied = {migration.id for migration in backend.to_rollback(migrations)}
    return [(migration.id, migration.id in applied) for migration in migrations]

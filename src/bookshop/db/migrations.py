"""Migrations through yoyo's API, always under yoyo's lock.

The lock is a row in yoyo_lock, so two processes migrating at once take turns; what to apply
or roll back is computed inside the lock, or the second process would redo the first's work.
A process that finds the lock taken polls for it (every 0.5 s) for up to `lock_timeout`
seconds, then fails with MigrationLockTimeout, whose message says who holds it and what to do.
"""

import re
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

from yoyo import get_backend, read_migrations
from yoyo.backends.base import DatabaseBackend
from yoyo.exceptions import LockTimeout

from bookshop.db.admin import migration_history_grant
from bookshop.db.urls import yoyo_url
from bookshop.paths import MIGRATIONS_DIR

LOCK_TIMEOUT_SECONDS = 60.0


class MigrationLockTimeout(Exception):
    """Another process held yoyo's migration lock for longer than we would wait."""


def _lock_timeout_message(error: LockTimeout, timeout: float) -> str:
    # yoyo's own message names the holder: "Process 4242 has locked this database (…)".
    holder = re.search(r"Process (\d+)", str(error))
    return (
        f"gave up after {timeout:g} s waiting for the migration lock (the row in table yoyo_lock), held by"
        f" {f'process {holder[1]}' if holder else 'another process'}. Another `bookshop migrate` or `yoyo apply`"
        " may still be running: let it finish and try again. If none is running, a migration process died"
        ' holding the lock: remove it with `DATABASE_URL="$(bookshop db url --yoyo)" yoyo break-lock` from'
        " the project folder, then run the command again."
    )


@contextmanager
def _locked_backend(database_url: str, lock_timeout: float) -> Iterator[DatabaseBackend]:
    with get_backend(yoyo_url(database_url)) as backend, ExitStack() as held:
        try:
            held.enter_context(backend.lock(lock_timeout))
        except LockTimeout as error:
            raise MigrationLockTimeout(_lock_timeout_message(error, lock_timeout)) from error
        yield backend


def apply(database_url: str, *, lock_timeout: float = LOCK_TIMEOUT_SECONDS) -> list[str]:
    """Applies every pending migration; returns their ids in order."""
    migrations = read_migrations(str(MIGRATIONS_DIR))
    with _locked_backend(database_url, lock_timeout) as backend:
        pending = backend.to_apply(migrations)
        backend.apply_migrations(pending)
        with backend.transaction():  # the diagnostics compare the applied ids with migrations/
            backend.cursor().execute(migration_history_grant())
    return [migration.id for migration in pending]


def rollback(database_url: str, *, count: int | None = 1, lock_timeout: float = LOCK_TIMEOUT_SECONDS) -> list[str]:
    """Rolls back the newest `count` applied migrations (all of them for None)."""
    migrations = read_migrations(str(MIGRATIONS_DIR))
    with _locked_backend(database_url, lock_timeout) as backend:
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

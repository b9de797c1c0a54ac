"""A streaming read replica (REPLICA_DATABASE_URL): a second pool for public reads, used only
while it answers and keeps up.

A watcher measures the replica's lag once per REPLICA_CHECK_SECONDS, never per request, by WAL
position (sql/ops/replication.sql): at each check it notes where the primary's WAL is, and the
replica is as far behind as the oldest noted position it has not replayed (to within one check
interval). Unlike the age of the last replayed commit, this reads 0 on an idle primary and
does not jump when a write follows a quiet spell. While the replica does not answer, or lags
more than REPLICA_MAX_LAG_SECONDS, `Database.read_connection()` lends primary connections
instead; a request whose replica connection fails marks it down at once, and the watcher brings
it back. docs/operations.md has the rules (what is routed where, read-your-writes).
"""

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
import msgspec
from asyncpg.pool import PoolConnectionProxy

from bookshop.db.pool import Pool, create_pool
from bookshop.db.queries import queries
from bookshop.db.query_log import QueryObserver
from bookshop.db.urls import libpq_url
from bookshop.settings import Settings

logger = logging.getLogger("bookshop.replica")

# What a replica that stopped, restarts or cannot be reached raises: refused or lost
# connections, a server shutting down or starting, an acquire that timed out (an OSError).
REPLICA_FAULTS: tuple[type[BaseException], ...] = (
    OSError,
    asyncpg.PostgresConnectionError,
    asyncpg.CannotConnectNowError,
    asyncpg.AdminShutdownError,
    asyncpg.InterfaceError,
    asyncpg.InternalClientError,
)
# What asking the primary its position can raise, besides: it is a standby now (55000).
PRIMARY_FAULTS: tuple[type[BaseException], ...] = (*REPLICA_FAULTS, asyncpg.PostgresError)
# Positions of the primary's WAL noted and not yet replayed, at most: an hour at one check a second.
MAX_SAMPLES = 3_600


class Replica:
    """The replica's pool and whether reads may use it now (`usable`)."""

    def __init__(self, pool: Pool, *, primary: Pool, max_lag_seconds: float, acquire_timeout: float) -> None:
        self.pool = pool
        self.primary = primary
        self.max_lag_seconds = max_lag_seconds
        self.acquire_timeout = acquire_timeout
        self.usable = False
        self.lag_seconds: float | None = None  # at the last check; None when it did not answer
        self._why_not = "not checked yet"
        # (when, where): the primary's WAL position at a check, oldest first, until replayed.
        self._unreplayed: deque[tuple[float, int]] = deque(maxlen=MAX_SAMPLES)

    async def check(self) -> bool:
        """Measures the replica's lag and decides whether reads may use it; says whether they may.
        A primary that cannot be asked (down, busy past the acquire timeout, or itself a standby)
        leaves no position to wait for: the replica then serves public reads while it answers,
        rather than send them to that primary."""
        noted_at = time.monotonic()
        try:
            async with self.primary.acquire(timeout=self.acquire_timeout) as conn:
                self._unreplayed.append((noted_at, await queries.ops.primary_wal_position(conn)))
        except PRIMARY_FAULTS:
            self._unreplayed.clear()  # positions it may never send count for nothing
        try:
            async with self.pool.acquire(timeout=self.acquire_timeout) as conn:
                replayed: int | None = await queries.ops.replayed_wal_position(conn)
        except REPLICA_FAULTS as error:
            self.lag_seconds = None
            self._set(False, f"it does not answer ({type(error).__name__})")
            return False
        unreplayed = self._unreplayed
        while unreplayed and (replayed is None or unreplayed[0][1] <= replayed):
            unreplayed.popleft()
        lag = time.monotonic() - unreplayed[0][0] if unreplayed else 0.0
        self.lag_seconds = lag
        if lag > self.max_lag_seconds:
            self._set(False, f"it lags {lag:.1f} s, more than REPLICA_MAX_LAG_SECONDS={self.max_lag_seconds:g}")
        else:
            self._set(True, "")
        return self.usable

    async def acquire(self) -> PoolConnectionProxy | None:
        """A replica connection for a read, or None when it cannot lend one now (not usable, or
        the acquire failed, which marks it down): the caller then reads from the primary."""
        if not self.usable:
            return None
        try:
            conn: PoolConnectionProxy = await self.pool.acquire(timeout=self.acquire_timeout)
        except REPLICA_FAULTS as error:
            self.failed(error)
            return None
        return conn

    def failed(self, error: BaseException) -> None:
        """A read on the replica raised `error`: when it is the replica failing (not, say, a
        bad parameter), reads use the primary until the next good check."""
        if isinstance(error, REPLICA_FAULTS):
            self._set(False, f"a read failed on it ({type(error).__name__})")

    def _set(self, usable: bool, why_not: str) -> None:
        if usable and not self.usable:
            logger.info("reads go to the replica again (lag %.1f s)", self.lag_seconds or 0.0)
        elif not usable and (self.usable or why_not != self._why_not):
            logger.warning("public reads go to the primary: %s", why_not)
        self.usable = usable
        self._why_not = why_not

    async def watch(self, interval: float) -> None:
        """Checks the replica every `interval` seconds, until cancelled."""
        while True:
            await asyncio.sleep(interval)
            await self.check()


@asynccontextmanager
async def open_replica(
    settings: Settings, *, primary: Pool, observer: QueryObserver | None = None
) -> AsyncIterator[Replica | None]:
    """The replica REPLICA_DATABASE_URL names, checked once and then watched in the background
    (its lag measured against the `primary` pool's WAL position);
    None when the setting is unset. A replica that is down at start does not stop the service:
    its pool connects lazily (no minimum size), and reads use the primary until it answers."""
    if not settings.replica_database_url:
        yield None
        return
    lazy = msgspec.structs.replace(settings, pool_min_size=0)
    pool = await create_pool(lazy, dsn=libpq_url(settings.replica_database_url), observer=observer)
    replica = Replica(
        pool,
        primary=primary,
        max_lag_seconds=settings.replica_max_lag_seconds,
        acquire_timeout=settings.pool_acquire_timeout,
    )
    await replica.check()
    watcher = asyncio.create_task(replica.watch(settings.replica_check_seconds), name="replica-watcher")
    try:
        yield replica
    finally:
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watcher
        await pool.close()

"""The asyncpg pool: msgspec JSON codecs, server-side timeouts, no reset round trip per release."""

import logging
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any, Protocol, TypeAlias
from uuid import UUID

import asyncpg
import msgspec
from asyncpg.pool import PoolConnectionProxy

from bookshop.db.queries import queries
from bookshop.db.query_log import QueryObserver, statement_names
from bookshop.settings import Settings

if TYPE_CHECKING:
    from bookshop.db.replica import Replica

# What repositories accept: a connection from asyncpg.connect or one lent by the pool.
Connection: TypeAlias = asyncpg.Connection | PoolConnectionProxy
Pool: TypeAlias = asyncpg.Pool

logger = logging.getLogger("bookshop.db")


class PooledConnection(asyncpg.Connection):
    """A connection the pool hands back without asyncpg's reset query.

    By default every release runs `pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL`,
    one more round trip per request (bench/reset_query.py measures what it costs). asyncpg still
    rolls back an open transaction on release. The price is a rule: never leave session state on
    a pooled connection (no SET, session advisory locks or LISTEN); use set_config(..., true),
    which ends with the transaction.
    """

    def get_reset_query(self) -> str:
        return ""


def _encode_json(value: object) -> str:
    return msgspec.json.encode(value).decode()


async def init_connection(conn: asyncpg.Connection) -> None:
    """json and jsonb in and out through msgspec, on every new connection."""
    for type_name in ("json", "jsonb"):
        await conn.set_type_codec(
            type_name,
            schema="pg_catalog",
            encoder=_encode_json,
            decoder=msgspec.json.decode,
            format="text",
        )


def server_settings(settings: Settings) -> dict[str, str]:
    """Session settings sent in the startup packet, so they cost no round trip. Behind a
    transaction pooler only application_name (PgBouncer refuses other startup parameters, and
    its server sessions are not ours): there transactions set the timeouts (needed_limits)."""
    if settings.database_pooler == "transaction":
        return {"application_name": "bookshop"}
    return {
        "application_name": "bookshop",
        "statement_timeout": str(settings.statement_timeout_ms),
        "idle_in_transaction_session_timeout": str(settings.idle_in_transaction_session_timeout_ms),
    }


def connect_arguments(settings: Settings) -> dict[str, Any]:
    """What asyncpg.connect and create_pool are given besides the URL. Behind a transaction
    pooler, no statement cache: its named prepared statements live in one server session, and
    the next transaction may run in another. Without it asyncpg describes each statement unnamed
    (one round trip) and sends it again with its bind (a second): nothing named stays behind, at
    two parses and a plan per statement (bench/pgbouncer.py measures the cost)."""
    return {
        "command_timeout": settings.command_timeout,
        "server_settings": server_settings(settings),
        "statement_cache_size": 0 if settings.database_pooler == "transaction" else 100,
    }


@dataclass(frozen=True, kw_only=True)
class TransactionLimits:
    """The timeouts each transaction sets for itself behind a transaction pooler."""

    statement_timeout_ms: int
    idle_in_transaction_session_timeout_ms: int


def transaction_limits(settings: Settings) -> TransactionLimits | None:
    """The limits asked for behind a transaction pooler; none on a direct connection, whose
    session got them at start-up (server_settings)."""
    if settings.database_pooler != "transaction":
        return None
    return TransactionLimits(
        statement_timeout_ms=settings.statement_timeout_ms,
        idle_in_transaction_session_timeout_ms=settings.idle_in_transaction_session_timeout_ms,
    )


async def needed_limits(pool: Pool, settings: Settings) -> TransactionLimits | None:
    """The limits each transaction must set for itself: none on a direct connection, nor behind
    a pooler whose server sessions start with them already (the role's defaults, which
    `bookshop db bootstrap` makes the service's own defaults). Checked once, at start."""
    limits = transaction_limits(settings)
    if limits is None:
        return None
    async with pool.acquire() as conn:
        defaults = await queries.db.session_defaults(conn)
    asked = (limits.statement_timeout_ms, limits.idle_in_transaction_session_timeout_ms)
    found = (defaults["statement_timeout_ms"], defaults["idle_in_transaction_session_timeout_ms"])
    if found == asked:
        logger.info("behind a transaction pooler; sessions start with the timeouts asked for %s ms", asked)
        return None
    logger.info(
        "behind a transaction pooler; sessions start with timeouts %s ms, not %s: each transaction sets them",
        found,
        asked,
    )
    return limits


@asynccontextmanager
async def limited_transaction(conn: Connection, limits: TransactionLimits | None) -> AsyncIterator[Connection]:
    """A transaction on `conn` that first sets `limits` for itself (SET LOCAL), when given."""
    async with conn.transaction():
        if limits is not None:
            await queries.db.set_transaction_limits(
                conn,
                statement_timeout_ms=limits.statement_timeout_ms,
                idle_in_transaction_session_timeout_ms=limits.idle_in_transaction_session_timeout_ms,
            )
        yield conn


@cache
def named_statements() -> dict[str, str]:
    """Statement text → query name, for the query logger (built once from the loader)."""
    return statement_names(queries)


def query_observer(settings: Settings) -> QueryObserver:
    """The slow-query log alone, for pools without metrics (the worker's)."""
    return QueryObserver(named_statements(), slow_query_ms=settings.slow_query_ms)


async def create_pool(settings: Settings, *, dsn: str, observer: QueryObserver | None = None) -> Pool:
    """The pool; each of its connections reports every statement to the observer (by default
    the slow-query log of settings.slow_query_ms), see db/query_log.py."""
    observer = observer or query_observer(settings)

    async def init(conn: asyncpg.Connection) -> None:
        await init_connection(conn)
        if observer.active:
            conn.add_query_logger(observer)

    pool = await asyncpg.create_pool(
        dsn,
        min_size=settings.pool_min_size,
        max_size=settings.pool_max_size,
        connection_class=PooledConnection,
        init=init,
        **connect_arguments(settings),
    )
    assert pool is not None  # create_pool returns None only when not awaited
    return pool


class Actor(Protocol):
    """Whom a transaction acts for: any object with these two attributes (accounts' Caller)."""

    @property
    def user_id(self) -> UUID | None: ...

    @property
    def role(self) -> str: ...


async def act_as(conn: Connection, *, user_id: UUID | None, role: str) -> None:
    """Names the caller for the rest of the current transaction, before its writes; row-level
    security reads it. Outside a transaction it would last one statement, so call it inside one.
    A private read needs no transaction: its named query names the caller itself, in the same
    statement (migration 0021)."""
    await queries.auth.set_caller(conn, user_id=user_id, role=role)


class Database:
    """The pool as request handlers use it: a connection to read, a transaction to write.

    A private read is one statement on `connection()`: its named query calls a function of
    migration 0021 that names the caller before it reads, and outside a transaction the caller
    ends with that statement. Writes to private tables use `transaction(caller)`.

    A handler holds a connection only while its statements run, not while the response is
    encoded or sent, and `async with` returns it on every path, errors included.

    With a replica (db/replica.py), `read_connection()` serves public reads that may be a
    moment stale from it; everything else uses the primary pool.

    Given `limits` (behind a transaction pooler whose sessions start with other timeouts, see
    needed_limits), every transaction sets them first, and reads too run in one: a statement
    outside a transaction would run under the pooler's server session's, not the service's.
    """

    def __init__(
        self,
        pool: Pool,
        *,
        acquire_timeout: float,
        replica: "Replica | None" = None,
        limits: TransactionLimits | None = None,
    ) -> None:
        self.pool = pool
        self.acquire_timeout = acquire_timeout
        self.replica = replica
        self.limits = limits

    def primary_only(self) -> "Database":
        """The same primary pool with no replica: for a caller whose reads must see their own
        writes (http/dependencies.py gives it to every signed-in request)."""
        return Database(self.pool, acquire_timeout=self.acquire_timeout, limits=self.limits)

    def read_connection(self) -> AbstractAsyncContextManager[Connection]:
        """A connection for a public read (catalog, search, export, venues, availability) that
        may lag the primary by up to REPLICA_MAX_LAG_SECONDS: the replica's while it is usable,
        the primary's otherwise (no replica, replica down or lagging, or its acquire failed)."""
        if self.replica is None:
            return self.connection()
        return self._replica_connection(self.replica)

    @asynccontextmanager
    async def _replica_connection(self, replica: "Replica") -> AsyncIterator[Connection]:
        conn = await replica.acquire()
        if conn is None:
            async with self.connection() as primary:
                yield primary
            return
        try:
            if self.limits is None:
                yield conn
            else:
                async with limited_transaction(conn, self.limits):
                    yield conn
        except BaseException as error:
            replica.failed(error)
            raise
        finally:
            await replica.pool.release(conn)

    def connection(self) -> AbstractAsyncContextManager[Connection]:
        """A pooled connection. Waiting longer than the acquire timeout raises TimeoutError.
        Without limits it is the pool's own acquire context: a wrapper around it cost a few µs
        of every request."""
        acquiring = self.pool.acquire(timeout=self.acquire_timeout)
        if self.limits is None:
            return acquiring
        return self._limited(acquiring, self.limits)

    @staticmethod
    @asynccontextmanager
    async def _limited(
        acquiring: AbstractAsyncContextManager[Connection], limits: TransactionLimits
    ) -> AsyncIterator[Connection]:
        async with acquiring as conn, limited_transaction(conn, limits):
            yield conn

    @asynccontextmanager
    async def transaction(self, caller: Actor | None = None) -> AsyncIterator[Connection]:
        """A pooled connection inside one transaction: it commits when the block ends, and
        rolls back if the block raises. Given a caller, the transaction first acts for them, so
        the row-level security policies on private tables apply to its writes and reads."""
        async with self.pool.acquire(timeout=self.acquire_timeout) as conn, limited_transaction(conn, self.limits):
            if caller is not None:
                await act_as(conn, user_id=caller.user_id, role=caller.role)
            yield conn


async def connect(settings: Settings, *, dsn: str) -> asyncpg.Connection:
    """One connection set up like the pool's, for the CLI and for tests."""
    conn: asyncpg.Connection = await asyncpg.connect(dsn, **connect_arguments(settings))
    await init_connection(conn)
    return conn

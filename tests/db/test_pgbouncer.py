"""The pool behind a real PgBouncer in transaction mode (DATABASE_POOLER=transaction): it starts,
the timeouts asked for are the ones in force, and nothing of one transaction (a caller, a
prepared statement) reaches the next one that borrows the same server session."""

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import asyncpg
import msgspec
import pytest

from bookshop.accounts import service as accounts
from bookshop.cli.common import run_with_connection, without_time_limits
from bookshop.db.pool import Connection, Database, create_pool, needed_limits
from bookshop.jobs.worker import WorkerOptions, run_worker
from bookshop.settings import Settings
from tests.support.accounts import AccountFactory
from tests.support.jobs import enqueue
from tests.support.pgbouncer import POOL_SIZE, PgBouncer
from tests.support.waiting import wait_until


@dataclass(frozen=True)
class Customer:
    user_id: uuid.UUID | None
    role: str = "customer"


@pytest.fixture
async def pooled_database(pooled_settings: Settings) -> AsyncIterator[Database]:
    """The app's Database through PgBouncer, eight client connections on its two server sessions,
    asking for timeouts unlike the role's defaults (5 s, 10 s)."""
    settings = msgspec.structs.replace(
        pooled_settings,
        pool_max_size=8,
        statement_timeout_ms=1234,
        idle_in_transaction_session_timeout_ms=4321,
    )
    pool = await create_pool(settings, dsn=settings.database_url or "")
    yield Database(pool, acquire_timeout=5, limits=await needed_limits(pool, settings))
    await pool.close()


async def test_without_pooler_mode_pgbouncer_refuses_the_pool(
    settings: Settings, database_urls: Any, pgbouncer: PgBouncer
) -> None:
    """The failure pooler mode exists for: the timeouts in the startup packet."""
    with pytest.raises(asyncpg.PostgresError, match="unsupported startup parameter"):
        await create_pool(settings, dsn=pgbouncer.url(database_urls.app))


async def test_the_timeouts_asked_for_are_the_ones_in_force(
    pooled_database: Database, pooled_settings: Settings
) -> None:
    # What a statement outside the service's transactions gets: the role's defaults.
    bare = await asyncpg.connect(pooled_settings.database_url, statement_cache_size=0)
    try:
        assert await bare.fetchval("SELECT current_setting('statement_timeout')") == "5s"
    finally:
        await bare.close()
    for borrow in (pooled_database.connection, pooled_database.transaction):
        async with borrow() as conn:
            settings = await conn.fetchrow(
                "SELECT current_setting('statement_timeout') AS statement,"
                " current_setting('idle_in_transaction_session_timeout') AS idle,"
                " current_setting('application_name') AS application"
            )
            assert dict(settings) == {"statement": "1234ms", "idle": "4321ms", "application": "bookshop"}


async def test_timeouts_the_sessions_start_with_are_not_set_again(pooled_settings: Settings) -> None:
    """The service's defaults are the role's (bookshop db bootstrap): then no transaction pays
    for setting them, and they are still the ones in force."""
    pool = await create_pool(pooled_settings, dsn=pooled_settings.database_url or "")
    try:
        assert await needed_limits(pool, pooled_settings) is None
        async with Database(pool, acquire_timeout=5).connection() as conn:
            assert await conn.fetchval("SELECT current_setting('statement_timeout')") == "5s"
            assert await conn.fetchval("SELECT current_setting('idle_in_transaction_session_timeout')") == "10s"
    finally:
        await pool.close()


async def test_the_statement_timeout_cuts_a_read_short(pooled_settings: Settings) -> None:
    settings = msgspec.structs.replace(pooled_settings, statement_timeout_ms=200)
    pool = await create_pool(settings, dsn=settings.database_url or "")
    try:
        database = Database(pool, acquire_timeout=5, limits=await needed_limits(pool, settings))
        async with database.connection() as conn:
            with pytest.raises(asyncpg.QueryCanceledError):
                await conn.execute("SELECT pg_sleep(30)")
    finally:
        await pool.close()


async def test_the_idle_in_transaction_limit_ends_an_abandoned_transaction(
    pooled_settings: Settings, admin_conn: asyncpg.Connection
) -> None:
    """Set for the transaction alone, the limit still ends the server session left idle in it."""
    settings = msgspec.structs.replace(pooled_settings, idle_in_transaction_session_timeout_ms=300)
    pool = await create_pool(settings, dsn=settings.database_url or "")
    try:
        database = Database(pool, acquire_timeout=5, limits=await needed_limits(pool, settings))
        async with database.transaction() as conn:
            pid = await conn.fetchval("SELECT pg_backend_pid()")

            async def ended() -> bool:
                return not await admin_conn.fetchval(
                    "SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE pid = $1)", pid
                )

            # within less than the role's own 10 s
            await wait_until(ended, "the server ended the session idle in its transaction", within=5)
            with pytest.raises((asyncpg.PostgresError, asyncpg.InterfaceError)):
                await conn.fetchval("SELECT 1")
    except (asyncpg.PostgresError, asyncpg.InterfaceError):
        pass  # the rollback on the way out of the transaction meets the same ended session
    finally:
        await pool.close()


async def test_callers_share_server_sessions_but_never_their_settings(
    pooled_database: Database, make_account: AccountFactory
) -> None:
    """Two customers and anonymous readers interleaved on two server sessions: each transaction
    sees its own caller (and under row-level security its own API key) and nobody else's."""
    customers = [Customer((await make_account()).user_id) for _ in range(2)]
    sessions: dict[uuid.UUID | None, set[int]] = {}

    async def transactions_of(customer: Customer) -> None:
        for _ in range(15):
            async with pooled_database.transaction(customer) as conn:
                row = await conn.fetchrow(
                    "SELECT pg_backend_pid() AS pid, current_setting('app.user_id') AS user_id,"
                    " array_agg(DISTINCT user_id) AS key_owners FROM api_keys"
                )
                await asyncio.sleep(0)  # let another client's transaction start meanwhile
                assert row["user_id"] == str(customer.user_id)
                assert row["key_owners"] == [customer.user_id]
                sessions.setdefault(customer.user_id, set()).add(row["pid"])

    async def anonymous_reads() -> None:
        for _ in range(15):
            async with pooled_database.connection() as conn:
                row = await conn.fetchrow(
                    "SELECT pg_backend_pid() AS pid, current_setting('app.user_id', true) AS user_id,"
                    " (SELECT count(*) FROM api_keys) AS keys"
                )
                assert row["user_id"] in (None, "")
                assert row["keys"] == 0
                sessions.setdefault(None, set()).add(row["pid"])

    await asyncio.gather(*(transactions_of(customer) for customer in customers), anonymous_reads(), anonymous_reads())
    first, second = (sessions[customer.user_id] for customer in customers)
    assert len(first | second | sessions[None]) <= POOL_SIZE
    assert first & second, "the two customers never shared a server session: the test proved nothing"


async def test_no_prepared_statement_outlives_its_transaction(pooled_database: Database) -> None:
    """With asyncpg's statement cache, a second statement text would be prepared by name on one
    server session and executed on another."""

    async def many_statements(worker: int) -> None:
        for n in range(20):
            async with pooled_database.connection() as conn:
                assert await conn.fetchval(f"SELECT $1::int + {worker * 100 + n % 5}", n) == n + worker * 100 + n % 5
                assert await conn.fetchval("SELECT count(*) FROM pg_prepared_statements") == 0

    await asyncio.gather(*(many_statements(worker) for worker in range(8)))


async def test_the_worker_keeps_its_longer_idle_limit_through_pgbouncer(
    conn: asyncpg.Connection, pooled_settings: Settings
) -> None:
    seen: list[str] = []

    async def probe(handler_conn: Connection, payload: dict[str, Any]) -> None:
        seen.append(await handler_conn.fetchval("SELECT current_setting('idle_in_transaction_session_timeout')"))

    stop = asyncio.Event()
    options = WorkerOptions(lease_seconds=120, poll_interval=0.05)
    task = asyncio.create_task(
        run_worker(
            pooled_settings,
            dsn=pooled_settings.database_url or "",
            handlers={"probe": probe},
            options=options,
            stop=stop,
        )
    )
    try:
        [job_id] = await enqueue(conn, "probe", [{}])

        async def done() -> bool:
            return await conn.fetchval("SELECT status FROM jobs WHERE id = $1", job_id) == "done"

        await wait_until(done, "the probe job is done")
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)
    assert seen == ["2min"]


def test_bulk_commands_lift_the_statement_timeout_through_pgbouncer(pooled_settings: Settings) -> None:
    """`bookshop seed` and `import` (cli/common.py without_time_limits) through the pooler."""

    async def limits(conn: asyncpg.Connection) -> tuple[str, str]:
        async with conn.transaction():  # as the seeds open theirs
            statement = await conn.fetchval("SELECT current_setting('statement_timeout')")
        return statement, await conn.fetchval("SELECT current_setting('statement_timeout')")

    settings = without_time_limits(pooled_settings)
    assert run_with_connection(settings, settings.database_url or "", limits) == ("0", "0")


@pytest.mark.parametrize("with_limits", [True, False], ids=["transaction-per-read", "one-statement"])
async def test_private_reads_in_one_statement_never_leave_their_caller_on_a_server_session(
    pooled_settings: Settings, make_account: AccountFactory, with_limits: bool
) -> None:
    """Private reads (migration 0021) of two customers and anonymous reads interleaved on two
    server sessions: each read sees its own caller's key, and no statement after it any caller.
    With limits (sessions start with other timeouts) each read runs in a transaction that sets
    them; without, it is one statement and its own transaction."""
    settings = pooled_settings
    if with_limits:
        settings = msgspec.structs.replace(pooled_settings, statement_timeout_ms=1234)
    pool = await create_pool(settings, dsn=settings.database_url or "")
    limits = await needed_limits(pool, settings)
    assert (limits is not None) == with_limits
    database = Database(pool, acquire_timeout=5, limits=limits)
    customers = [Customer((await make_account()).user_id) for _ in range(2)]

    async def reads_of(customer: Customer) -> None:
        assert customer.user_id is not None
        for _ in range(15):
            async with database.connection() as conn:
                keys = await accounts.list_api_keys(conn, caller=customer, user_id=customer.user_id)
            assert len(keys) == 1

    async def anonymous_reads() -> None:
        for _ in range(15):
            async with database.connection() as conn:
                row = await conn.fetchrow(
                    "SELECT current_setting('app.user_id', true) AS user_id, (SELECT count(*) FROM api_keys) AS keys"
                )
                await asyncio.sleep(0)
            assert row["user_id"] in (None, "")
            assert row["keys"] == 0

    try:
        await asyncio.gather(*(reads_of(customer) for customer in customers), anonymous_reads(), anonymous_reads())
        # One customer's read aimed at the other's keys finds none of them.
        first, second = customers
        assert second.user_id is not None
        async with database.connection() as conn:
            assert await accounts.list_api_keys(conn, caller=first, user_id=second.user_id) == []
    finally:
        await pool.close()

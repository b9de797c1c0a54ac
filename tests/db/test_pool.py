"""The pool: JSON through msgspec, timeouts from settings, and no state leaking between borrowers."""

from collections.abc import AsyncIterator

import asyncpg
import msgspec
import pytest

from bookshop.db.pool import PooledConnection, create_pool
from bookshop.settings import Settings


@pytest.fixture
async def single_connection_pool(settings: Settings, database_url: str) -> AsyncIterator[asyncpg.Pool]:
    """One connection, so consecutive borrowers are sure to get the same one."""
    pool = await create_pool(
        msgspec.structs.replace(settings, pool_min_size=1, pool_max_size=1, statement_timeout_ms=1234),
        dsn=database_url,
    )
    yield pool
    await pool.close()


async def test_jsonb_round_trips_through_msgspec(conn: asyncpg.Connection) -> None:
    value = {"genres": ["poésie", "科学"], "nested": {"n": 1.5, "ok": True, "none": None}}
    assert await conn.fetchval("SELECT $1::jsonb", value) == value
    assert await conn.fetchval("SELECT $1::json", [1, "two"]) == [1, "two"]
    assert await conn.fetchval("SELECT '{\"a\": [1, 2]}'::jsonb -> 'a'") == [1, 2]


async def test_pool_connections_skip_the_reset_query(single_connection_pool: asyncpg.Pool) -> None:
    async with single_connection_pool.acquire() as conn:
        assert isinstance(conn, PooledConnection)
        assert conn.get_reset_query() == ""


async def test_transaction_local_settings_do_not_reach_the_next_borrower(single_connection_pool: asyncpg.Pool) -> None:
    async with single_connection_pool.acquire() as conn, conn.transaction():
        await conn.execute("SELECT set_config('app.user_id', 'someone', true)")
        assert await conn.fetchval("SELECT current_setting('app.user_id', true)") == "someone"
    async with single_connection_pool.acquire() as conn:
        assert await conn.fetchval("SELECT current_setting('app.user_id', true)") in (None, "")


async def test_an_unfinished_transaction_is_rolled_back_on_release(single_connection_pool: asyncpg.Pool) -> None:
    async with single_connection_pool.acquire() as conn:
        await conn.execute("BEGIN")
        await conn.execute("INSERT INTO users (email, name) VALUES ('left@open.example', 'Left open')")
    async with single_connection_pool.acquire() as conn:
        assert not await conn.fetchval("SELECT EXISTS (SELECT 1 FROM users WHERE email = 'left@open.example')")
        assert await conn.fetchval("SELECT pg_current_xact_id_if_assigned()") is None


async def test_server_timeouts_come_from_settings(single_connection_pool: asyncpg.Pool) -> None:
    async with single_connection_pool.acquire() as conn:
        assert await conn.fetchval("SHOW statement_timeout") == "1234ms"
        assert await conn.fetchval("SHOW idle_in_transaction_session_timeout") == "10s"
        assert await conn.fetchval("SHOW application_name") == "bookshop"
        with pytest.raises(asyncpg.QueryCanceledError):
            await conn.execute("SELECT pg_sleep(2)")

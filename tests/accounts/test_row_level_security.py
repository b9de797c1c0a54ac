"""Row-level security, as the application role: the second wall holds when the first is missing.

Every private table (profiles, settings, API keys) shows a transaction only the rows of the
caller it acts for; staff see all; a transaction that names no caller sees nothing. The calls
below deliberately skip the routes' own ownership checks.
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
import pytest

from bookshop.accounts import service
from bookshop.db.pool import act_as
from tests.support.accounts import TEST_PEPPER, Account, AccountFactory

PRIVATE_TABLES = ["user_profiles", "user_settings", "api_keys"]


@asynccontextmanager
async def acting_for(conn: asyncpg.Connection, account: Account) -> AsyncIterator[asyncpg.Connection]:
    async with conn.transaction():
        await act_as(conn, user_id=account.user_id, role=account.role)
        yield conn


@pytest.fixture
async def accounts(make_account: AccountFactory, conn: asyncpg.Connection) -> dict[str, Account]:
    """Two customers and a staff member, each with a profile, a setting and a key (arranged by the owner)."""
    made = {name: await make_account(role) for name, role in [("a", "customer"), ("b", "customer"), ("staff", "staff")]}
    for account in made.values():
        await service.put_profile(conn, user_id=account.user_id, bio=account.email, location=None, website=None)
        await service.put_setting(conn, user_id=account.user_id, key="theme", value=account.email)
    return made


@pytest.mark.parametrize("table", PRIVATE_TABLES)
async def test_naming_no_caller_shows_nothing(
    app_conn: asyncpg.Connection, conn: asyncpg.Connection, accounts: dict[str, Account], table: str
) -> None:
    assert await conn.fetchval(f"SELECT count(*) FROM {table}") == 3  # the rows are there
    assert await app_conn.fetchval(f"SELECT count(*) FROM {table}") == 0
    async with app_conn.transaction():
        assert await app_conn.fetchval(f"SELECT count(*) FROM {table}") == 0


@pytest.mark.parametrize("table", PRIVATE_TABLES)
async def test_a_customer_sees_only_their_rows_even_with_no_where_clause(
    app_conn: asyncpg.Connection, accounts: dict[str, Account], table: str
) -> None:
    async with acting_for(app_conn, accounts["a"]):
        owners = {row["user_id"] for row in await app_conn.fetch(f"SELECT user_id FROM {table}")}
    assert owners == {accounts["a"].user_id}
    # The caller ended with the transaction: the connection is back to seeing nothing.
    assert await app_conn.fetchval(f"SELECT count(*) FROM {table}") == 0


@pytest.mark.parametrize("table", PRIVATE_TABLES)
async def test_staff_see_every_row(app_conn: asyncpg.Connection, accounts: dict[str, Account], table: str) -> None:
    async with acting_for(app_conn, accounts["staff"]):
        assert await app_conn.fetchval(f"SELECT count(*) FROM {table}") == 3


async def test_service_calls_aimed_at_another_user_find_and_change_nothing(
    app_conn: asyncpg.Connection, conn: asyncpg.Connection, accounts: dict[str, Account]
) -> None:
    a, b = accounts["a"], accounts["b"]
    b_key_id = await conn.fetchval("SELECT id FROM api_keys WHERE user_id = $1", b.user_id)
    async with acting_for(app_conn, a):
        assert await service.get_settings(app_conn, user_id=b.user_id) == {}
        assert await service.get_profile(app_conn, user_id=b.user_id) is None
        assert await service.list_api_keys(app_conn, user_id=b.user_id) == []
        assert not await service.delete_setting(app_conn, user_id=b.user_id, key="theme")
        assert not await service.delete_profile(app_conn, user_id=b.user_id)
        assert await service.revoke_api_key(app_conn, user_id=b.user_id, key_id=b_key_id) is None
        assert await app_conn.execute("UPDATE user_settings SET value = '\"hijacked\"'") == "UPDATE 1"  # A's own only
        assert await app_conn.execute("DELETE FROM api_keys WHERE user_id <> $1", a.user_id) == "DELETE 0"
    for write in (
        lambda: service.put_setting(app_conn, user_id=b.user_id, key="theme", value="hijacked"),
        lambda: service.put_profile(app_conn, user_id=b.user_id, bio="hijacked", location=None, website=None),
        lambda: service.issue_api_key(app_conn, user_id=b.user_id, name="stolen", pepper=TEST_PEPPER),
    ):
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            async with acting_for(app_conn, a):
                await write()

    b_rows = await conn.fetchrow(
        "SELECT s.value, p.bio, (SELECT count(*) FROM api_keys k WHERE k.user_id = $1 AND k.revoked_at IS NULL) AS keys"
        " FROM user_settings s JOIN user_profiles p USING (user_id) WHERE s.user_id = $1",
        b.user_id,
    )
    assert dict(b_rows) == {"value": b.email, "bio": b.email, "keys": 1}


async def test_policies_read_the_caller_once_per_statement(
    app_conn: asyncpg.Connection, accounts: dict[str, Account]
) -> None:
    async with acting_for(app_conn, accounts["a"]):
        plan = "\n".join(row[0] for row in await app_conn.fetch("EXPLAIN SELECT * FROM user_settings"))
    assert "InitPlan" in plan, plan


async def test_authentication_finds_a_key_before_any_caller_is_named(
    app_conn: asyncpg.Connection, accounts: dict[str, Account]
) -> None:
    caller = await service.authenticate(app_conn, token=accounts["b"].key, pepper=TEST_PEPPER)
    assert caller is not None
    assert (caller.user_id, caller.role) == (accounts["b"].user_id, "customer")

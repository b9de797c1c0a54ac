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
from bookshop.jobs.worker import WorkerActor
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
    assert await service.get_settings(app_conn, caller=a, user_id=b.user_id) == {}
    assert await service.get_profile(app_conn, caller=a, user_id=b.user_id) is None
    assert await service.list_api_keys(app_conn, caller=a, user_id=b.user_id) == []
    async with acting_for(app_conn, a):
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


# --- private reads in one statement (migration 0021) ------------------------------------------


async def caller_left_on(conn: asyncpg.Connection) -> tuple[str, str]:
    """What a later statement on the connection would act for: ('', '') or None when no one."""
    row = await conn.fetchrow(
        "SELECT coalesce(current_setting('app.user_id', true), '') AS user_id,"
        " coalesce(current_setting('app.role', true), '') AS role"
    )
    assert row is not None
    return row["user_id"], row["role"]


async def test_a_private_read_outside_a_transaction_shows_the_caller_their_rows_and_leaves_nothing(
    app_conn: asyncpg.Connection, accounts: dict[str, Account]
) -> None:
    a = accounts["a"]
    assert not app_conn.is_in_transaction()
    assert await service.get_settings(app_conn, caller=a, user_id=a.user_id) == {"theme": a.email}
    profile = await service.get_profile(app_conn, caller=a, user_id=a.user_id)
    assert profile is not None
    assert profile.bio == a.email
    assert len(await service.list_api_keys(app_conn, caller=a, user_id=a.user_id)) == 1
    # The caller ended with the statement's own transaction: the next statement on the same
    # connection names no one and sees no private row.
    assert await caller_left_on(app_conn) == ("", "")
    for table in PRIVATE_TABLES:
        assert await app_conn.fetchval(f"SELECT count(*) FROM {table}") == 0


async def test_a_private_read_that_fails_leaves_no_caller_either(
    app_conn: asyncpg.Connection, accounts: dict[str, Account]
) -> None:
    a = accounts["a"]
    # The read fails in its second statement, after name_caller has run: the caller still ends.
    with pytest.raises(asyncpg.InvalidRowCountInLimitClauseError):
        await app_conn.fetch("SELECT * FROM read_orders($1, 'staff', $1, NULL, -1)", a.user_id)
    assert await caller_left_on(app_conn) == ("", "")


@pytest.mark.parametrize("table", PRIVATE_TABLES)
async def test_a_private_read_aimed_at_another_customer_finds_none_of_their_rows(
    app_conn: asyncpg.Connection, accounts: dict[str, Account], table: str
) -> None:
    """The read's own filter names someone else: the policy, in force before the read starts,
    hides their rows, under a generic plan as under a custom one."""
    a, b = accounts["a"], accounts["b"]
    read = {"user_profiles": "read_profile", "user_settings": "read_settings", "api_keys": "read_api_keys"}[table]
    found = [
        dict(row) for row in await app_conn.fetch(f"SELECT * FROM {read}($1, 'customer', $2)", a.user_id, b.user_id)
    ]
    # read_settings answers for a live user even with nothing to show: b's settings are hidden.
    assert found == ([{read: {}}] if read == "read_settings" else [])
    for plan_mode in ("force_generic_plan", "force_custom_plan"):
        async with app_conn.transaction():
            await app_conn.execute(f"SET LOCAL plan_cache_mode = {plan_mode}")
            for _ in range(6):  # past the plan cache's five custom plans
                rows = await app_conn.fetch(f"SELECT * FROM {read}($1, 'customer', $2)", a.user_id, a.user_id)
                assert len(rows) == 1
    assert await caller_left_on(app_conn) == ("", "")


async def test_a_private_read_naming_no_one_sees_nothing(
    app_conn: asyncpg.Connection, accounts: dict[str, Account]
) -> None:
    anonymous = WorkerActor(role="customer")  # no user_id
    a = accounts["a"].user_id
    assert await service.get_settings(app_conn, caller=anonymous, user_id=a) == {}
    assert await service.get_profile(app_conn, caller=anonymous, user_id=a) is None
    assert await service.list_api_keys(app_conn, caller=anonymous, user_id=a) == []


async def test_staff_read_every_users_private_rows_in_one_statement(
    app_conn: asyncpg.Connection, accounts: dict[str, Account]
) -> None:
    staff, b = accounts["staff"], accounts["b"]
    assert await service.get_settings(app_conn, caller=staff, user_id=b.user_id) == {"theme": b.email}
    assert len(await service.list_api_keys(app_conn, caller=staff, user_id=b.user_id)) == 1
    assert await caller_left_on(app_conn) == ("", "")


async def test_a_private_read_inside_a_transaction_acts_for_its_caller_until_the_transaction_ends(
    app_conn: asyncpg.Connection, accounts: dict[str, Account]
) -> None:
    a = accounts["a"]
    async with app_conn.transaction():
        assert await service.get_settings(app_conn, caller=a, user_id=a.user_id) == {"theme": a.email}
        assert await caller_left_on(app_conn) == (str(a.user_id), "customer")
    assert await caller_left_on(app_conn) == ("", "")


async def test_the_reading_functions_are_never_inlined(app_conn: asyncpg.Connection) -> None:
    """An inlined function would lose its first statement, name_caller: the plan must call it."""
    plan = "\n".join(
        row[0] for row in await app_conn.fetch("EXPLAIN SELECT * FROM read_settings(NULL, 'customer', NULL)")
    )
    assert "Function Scan on read_settings" in plan, plan

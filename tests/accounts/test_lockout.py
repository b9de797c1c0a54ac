"""Accounts that cannot lock themselves out: the last live, active admin cannot be deleted,
deactivated or demoted, and nobody can revoke their own last live API key. Both hold when two
such changes race: the database decides, under row locks taken in one order (sql/accounts/)."""

import asyncio
from collections.abc import AsyncIterator, Awaitable
from typing import Any
from uuid import UUID

import asyncpg
import pytest

from bookshop.accounts import service
from bookshop.accounts.schemas import UserUpdate
from bookshop.db.pool import connect
from bookshop.db.urls import DatabaseUrls
from bookshop.settings import Settings
from tests.support.accounts import TEST_PEPPER, Account, AccountFactory
from tests.support.cli import run
from tests.support.clients import Client, ConcurrentClientFactory
from tests.support.problems import assert_problem
from tests.support.waiting import wait_until

LAST_ADMIN = "urn:bookshop:problem:last-admin"
LAST_API_KEY = "urn:bookshop:problem:last-api-key"


async def active_admins(conn: asyncpg.Connection) -> set[UUID]:
    rows = await conn.fetch("SELECT id FROM users WHERE role = 'admin' AND is_active AND deleted_at IS NULL")
    return {row["id"] for row in rows}


async def live_keys(conn: asyncpg.Connection, user_id: UUID) -> set[UUID]:
    rows = await conn.fetch("SELECT id FROM api_keys WHERE user_id = $1 AND revoked_at IS NULL", user_id)
    return {row["id"] for row in rows}


@pytest.fixture
async def app_connections(settings: Settings, database_urls: DatabaseUrls) -> AsyncIterator[list[asyncpg.Connection]]:
    """Two connections as the application role, for changes that race each other."""
    connections = [await connect(settings, dsn=database_urls.app) for _ in range(2)]
    yield connections
    for connection in connections:
        await connection.close()


async def waits_for_a_lock(admin_conn: asyncpg.Connection, pid: int) -> bool:
    """Whether the backend waits for a lock (a superuser sees every role's backends)."""
    state = await admin_conn.fetchval("SELECT wait_event_type FROM pg_stat_activity WHERE pid = $1", pid)
    return state == "Lock"


async def race(
    watcher: asyncpg.Connection,
    first: asyncpg.Connection,
    second: asyncpg.Connection,
    first_change: Awaitable[Any],
    second_change: Awaitable[Any],
) -> tuple[Any, BaseException | Any]:
    """Runs first_change in an open transaction on `first`, then second_change on `second` until
    it waits for the first's locks (or finishes: without the locks it would not wait), then
    commits the first. Returns the first's result and the second's result or exception.
    `watcher` sees the wait: a superuser's connection sees every role's backends."""
    first_tx = first.transaction()
    await first_tx.start()
    first_result = await first_change

    async def run_second() -> Any:
        async with second.transaction():
            return await second_change

    second_task = asyncio.create_task(run_second())
    pid = second.get_server_pid()

    async def waiting_or_done() -> bool:
        return second_task.done() or await waits_for_a_lock(watcher, pid)

    await wait_until(waiting_or_done, "the second change waits for the first's locks")
    await first_tx.commit()
    second_result = (await asyncio.gather(second_task, return_exceptions=True))[0]
    return first_result, second_result


# The last admin


@pytest.mark.parametrize(
    ("method", "body"),
    [
        ("DELETE", None),
        ("PATCH", {"is_active": False}),
        ("PATCH", {"role": "staff"}),
        ("PATCH", {"role": "customer", "name": "Still me"}),
    ],
)
async def test_the_last_admin_cannot_delete_deactivate_or_demote_themselves(
    client: Client, admin_account: Account, conn: asyncpg.Connection, method: str, body: dict[str, Any] | None
) -> None:
    url = f"/users/{admin_account.user_id}"
    response = await client.request(method, url, json=body, headers=admin_account.headers)
    problem = assert_problem(response, 409)
    assert problem["type"] == LAST_ADMIN
    assert "last active admin" in problem["detail"]
    assert await active_admins(conn) == {admin_account.user_id}
    me = (await client.get("/me", headers=admin_account.headers)).json()
    assert (me["role"], me["is_active"], me["name"]) == ("admin", True, "A admin")


async def test_staff_cannot_delete_the_last_admin_either(
    client: Client, admin_account: Account, staff: Account, conn: asyncpg.Connection
) -> None:
    response = await client.delete(f"/users/{admin_account.user_id}", headers=staff.headers)
    assert assert_problem(response, 409)["type"] == LAST_ADMIN
    assert await active_admins(conn) == {admin_account.user_id}


async def test_with_another_active_admin_an_admin_may_go_and_other_changes_still_pass(
    client: Client, admin_account: Account, make_account: AccountFactory, conn: asyncpg.Connection
) -> None:
    url = f"/users/{admin_account.user_id}"
    renamed = await client.patch(url, json={"name": "Renamed"}, headers=admin_account.headers)
    assert renamed.status_code == 200, renamed.text
    assert (await client.patch(url, json={"role": "admin"}, headers=admin_account.headers)).status_code == 200

    # An inactive or deleted admin does not count as the one who stays.
    asleep: Account = await make_account("admin")
    await conn.execute("UPDATE users SET is_active = false WHERE id = $1", asleep.user_id)
    gone: Account = await make_account("admin")
    await conn.execute("UPDATE users SET deleted_at = now() WHERE id = $1", gone.user_id)
    assert_problem(await client.patch(url, json={"role": "staff"}, headers=admin_account.headers), 409)

    other: Account = await make_account("admin")
    demoted = await client.patch(url, json={"role": "staff"}, headers=other.headers)
    assert demoted.status_code == 200, demoted.text
    assert demoted.json()["role"] == "staff"
    assert await active_admins(conn) == {other.user_id}
    # The inactive admin may be deleted: they are not the last active one.
    assert (await client.delete(f"/users/{asleep.user_id}", headers=other.headers)).status_code == 204


async def test_unknown_users_are_still_404(client: Client, admin_account: Account) -> None:
    missing = "0190d6c4-0000-7000-8000-000000000000"
    assert_problem(await client.delete(f"/users/{missing}", headers=admin_account.headers), 404)
    assert_problem(await client.patch(f"/users/{missing}", json={"role": "staff"}, headers=admin_account.headers), 404)


@pytest.mark.parametrize("second_change", ["demote", "deactivate", "delete"])
async def test_two_admins_removing_each_other_at_once_leave_one(
    admin_conn: asyncpg.Connection,
    conn: asyncpg.Connection,
    app_connections: list[asyncpg.Connection],
    make_account: AccountFactory,
    second_change: str,
) -> None:
    a: Account = await make_account("admin")
    b: Account = await make_account("admin")
    first, second = app_connections
    changes = {
        "demote": lambda c, user: service.update_user(c, user_id=user, changes=UserUpdate(role="customer")),
        "deactivate": lambda c, user: service.update_user(c, user_id=user, changes=UserUpdate(is_active=False)),
        "delete": lambda c, user: service.soft_delete_user(c, user_id=user),
    }
    # Both orders: the one whose target has the lower id first, and the other way round.
    for x, y in ((a, b), (b, a)):
        await conn.execute("UPDATE users SET role = 'admin', is_active = true, deleted_at = NULL")
        removed_y, removing_x = await race(
            admin_conn, first, second, changes["demote"](first, y.user_id), changes[second_change](second, x.user_id)
        )
        assert removed_y is not None
        assert isinstance(removing_x, service.LastAdmin), removing_x
        assert await active_admins(conn) == {x.user_id}


async def test_a_demotion_racing_the_bulk_deactivation_leaves_an_active_admin(
    admin_conn: asyncpg.Connection,
    conn: asyncpg.Connection,
    app_connections: list[asyncpg.Connection],
    make_account: AccountFactory,
) -> None:
    fresh: Account = await make_account("admin")
    stale: Account = await make_account("admin")
    await conn.execute("UPDATE users SET last_login_at = now() - interval '100 days' WHERE id = $1", stale.user_id)
    first, second = app_connections
    # The fresh admin is demoted (allowed: the stale one is still active) while the sweep runs.
    demoted, swept = await race(
        admin_conn,
        first,
        second,
        service.update_user(first, user_id=fresh.user_id, changes=UserUpdate(role="staff")),
        service.deactivate_inactive_users(second, days=30),
    )
    assert demoted is not None
    assert swept == 0
    assert await active_admins(conn) == {stale.user_id}


async def test_the_bulk_deactivation_spares_stale_admins_only_while_no_other_admin_stays(
    client: Client, conn: asyncpg.Connection, make_account: AccountFactory
) -> None:
    stale = [await make_account("admin") for _ in range(2)]
    customer: Account = await make_account()
    ids = [a.user_id for a in [*stale, customer]]
    await conn.execute("UPDATE users SET last_login_at = now() - interval '100 days' WHERE id = any($1)", ids)
    assert await service.deactivate_inactive_users(conn, days=30) == 1  # the customer only
    assert await active_admins(conn) == {a.user_id for a in stale}

    caller: Account = await make_account("admin")
    await client.get("/me", headers=caller.headers)  # signs in now
    swept = await client.post("/admin/users/deactivate-inactive?days=30", headers=caller.headers)
    assert swept.json() == {"deactivated": 2}
    assert await active_admins(conn) == {caller.user_id}


def test_the_cli_will_not_demote_the_last_admin(cli_env: dict[str, str]) -> None:
    made = run("keys", "create", "--email", "root@example.com", "--role", "admin", env=cli_env)
    assert made.returncode == 0, made.stderr
    # A look-alike of the address (full-width letters) names the same account.
    refused = run("keys", "create", "--email", "\uff32\uff2f\uff2f\uff34@example.com", "--role", "staff", env=cli_env)
    assert refused.returncode == 1
    assert "is the last active admin" in refused.stderr
    assert "Traceback" not in refused.stderr
    assert not refused.stdout.strip()


# The last API key


async def test_revoking_your_last_live_key_is_a_409(
    client: Client, customer: Account, conn: asyncpg.Connection
) -> None:
    (key_id,) = await live_keys(conn, customer.user_id)
    response = await client.delete(f"/me/api-keys/{key_id}", headers=customer.headers)
    problem = assert_problem(response, 409)
    assert problem["type"] == LAST_API_KEY
    assert "last live key" in problem["detail"]
    assert (await client.get("/me", headers=customer.headers)).status_code == 200

    # With a second key it goes; the second is then the last, and revoking the revoked one again
    # still answers as before.
    issued = (await client.post("/me/api-keys", json={"name": "spare"}, headers=customer.headers)).json()
    spare = {"Authorization": f"Bearer {issued['key']}"}
    assert (await client.delete(f"/me/api-keys/{key_id}", headers=spare)).status_code == 200
    again = await client.delete(f"/me/api-keys/{key_id}", headers=spare)
    assert again.status_code == 200, again.text
    assert_problem(await client.delete(f"/me/api-keys/{issued['api_key']['id']}", headers=spare), 409)
    assert await live_keys(conn, customer.user_id) == {UUID(issued["api_key"]["id"])}


async def test_two_revocations_of_a_users_two_keys_at_once_leave_one(
    admin_conn: asyncpg.Connection,
    conn: asyncpg.Connection,
    app_connections: list[asyncpg.Connection],
    customer: Account,
) -> None:
    first, second = app_connections
    for conn_ in (first, second):
        await conn_.execute(
            "SELECT set_config('app.user_id', $1, false), set_config('app.role', 'customer', false)",
            str(customer.user_id),
        )
    await service.issue_api_key(conn, user_id=customer.user_id, name="second", pepper=TEST_PEPPER)
    older, newer = sorted(await live_keys(conn, customer.user_id))
    for x, y in ((older, newer), (newer, older)):
        await conn.execute("UPDATE api_keys SET revoked_at = NULL WHERE user_id = $1", customer.user_id)
        revoked_y, revoking_x = await race(
            admin_conn,
            first,
            second,
            service.revoke_api_key(first, user_id=customer.user_id, key_id=y),
            service.revoke_api_key(second, user_id=customer.user_id, key_id=x),
        )
        assert revoked_y is not None
        assert isinstance(revoking_x, service.LastApiKey), revoking_x
        assert await live_keys(conn, customer.user_id) == {x}


async def test_concurrent_requests_revoking_both_keys_leave_one(
    make_concurrent_client: ConcurrentClientFactory, conn: asyncpg.Connection, customer: Account
) -> None:
    issued = await service.issue_api_key(conn, user_id=customer.user_id, name="second", pepper=TEST_PEPPER)
    (first_id,) = await live_keys(conn, customer.user_id) - {issued.api_key.id}
    second_headers = {"Authorization": f"Bearer {issued.key}"}
    async with make_concurrent_client() as http:
        responses = await asyncio.gather(
            http.delete(f"/me/api-keys/{first_id}", headers=second_headers),
            http.delete(f"/me/api-keys/{issued.api_key.id}", headers=customer.headers),
        )
    # One goes; the other is refused, by the rule (409) or, when it signs in with the key the
    # first just revoked, at the door (401).
    assert sorted(r.status_code for r in responses)[0] == 200
    assert sorted(r.status_code for r in responses)[1] in {401, 409}
    assert len(await live_keys(conn, customer.user_id)) == 1

"""The audit log: append-only for the service, read by admins in a time window."""

from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from bookshop.ops.service import record_event
from tests.support.accounts import Account
from tests.support.clients import Client
from tests.support.problems import assert_problem

NOW = datetime.now(UTC)


async def add_event(conn: asyncpg.Connection, kind: str, occurred_at: datetime, subject: str = "order:x") -> None:
    await conn.execute(
        "INSERT INTO events (occurred_at, actor, kind, subject) VALUES ($1, 'user:test', $2, $3)",
        occurred_at,
        kind,
        subject,
    )


async def test_events_in_a_window_newest_first_by_kind_and_cursor(
    client: Client, admin_account: Account, staff: Account, conn: asyncpg.Connection
) -> None:
    await add_event(conn, "order_placed", NOW - timedelta(days=30), "order:old")
    for index in range(5):
        await add_event(conn, "order_placed", NOW - timedelta(minutes=10 - index), f"order:{index}")
    await add_event(conn, "invoice_voided", NOW - timedelta(minutes=1), "invoice:1")

    def subjects(page: dict[str, list[dict[str, str]]]) -> list[str]:
        return [event["subject"] for event in page["items"]]

    recent = (await client.get("/admin/events", headers=admin_account.headers)).json()
    assert subjects(recent) == ["invoice:1", "order:4", "order:3", "order:2", "order:1", "order:0"]

    seen: list[str] = []
    after = None
    while True:
        params = {"kind": "order_placed", "limit": 2, "since": (NOW - timedelta(days=60)).isoformat()}
        page = (
            await client.get(
                "/admin/events", params=params | ({"after": after} if after else {}), headers=admin_account.headers
            )
        ).json()
        seen += subjects(page)
        after = page["next"]
        if after is None:
            break
    assert seen == ["order:4", "order:3", "order:2", "order:1", "order:0", "order:old"]

    window = {
        "since": (NOW - timedelta(minutes=9, seconds=30)).isoformat(),
        "until": (NOW - timedelta(minutes=7, seconds=30)).isoformat(),
    }
    assert subjects((await client.get("/admin/events", params=window, headers=admin_account.headers)).json()) == [
        "order:2",
        "order:1",
    ]
    assert (await client.get("/admin/events", headers=staff.headers)).status_code == 403


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"since": "2026-01-02T00:00:00Z", "until": "2026-01-01T00:00:00Z"}, "since"),
        ({"since": "2026-01-01T00:00:00"}, "since"),
        ({"since": "yesterday"}, "since"),
        ({"after": "forged"}, "after"),
        ({"limit": "0"}, "limit"),
    ],
)
async def test_bad_windows_and_cursors_are_400(
    client: Client, admin_account: Account, params: dict[str, str], field: str
) -> None:
    assert_problem(await client.get("/admin/events", params=params, headers=admin_account.headers), 400, field=field)


async def test_the_service_may_append_but_never_change_or_delete_events(app_conn: asyncpg.Connection) -> None:
    await record_event(app_conn, actor="user:test", kind="order_placed", subject="order:1", payload={"total": "1.00"})
    assert await app_conn.fetchval("SELECT count(*) FROM events") == 1
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await app_conn.execute("UPDATE events SET kind = 'forged'")
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await app_conn.execute("DELETE FROM events")
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await app_conn.execute("TRUNCATE events")

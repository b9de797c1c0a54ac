"""Keyset cursors: they round-trip their sort key exactly, and each is good for its own listing only."""

import uuid
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import asyncpg
import pytest

from bookshop.http.pagination import CursorError, decode_cursor, encode_cursor
from bookshop.jobs import service as jobs
from bookshop.ops import service as events
from tests.support.accounts import Account
from tests.support.clients import Client

SECRET = "test-secret"


@pytest.mark.parametrize(
    ("key_type", "key"),
    [
        (int, 9_223_372_036_854_775_807),
        (uuid.UUID, uuid.uuid4()),
        (tuple[datetime, uuid.UUID], (datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=UTC), uuid.uuid4())),
        (tuple[float, uuid.UUID], (0.0607927106320858, uuid.uuid4())),
    ],
)
def test_a_cursor_gives_back_the_key_it_was_made_from(key_type: Any, key: Any) -> None:
    token = encode_cursor("listing", key, secret=SECRET)
    assert decode_cursor(token, listing="listing", key_type=key_type, secret=SECRET) == key


def test_a_time_in_a_cursor_keeps_its_instant_whatever_its_offset() -> None:
    moment = datetime(2026, 3, 1, 14, 0, tzinfo=timezone(timedelta(hours=2)))
    token = encode_cursor("listing", moment, secret=SECRET)
    assert decode_cursor(token, listing="listing", key_type=datetime, secret=SECRET) == moment


@pytest.mark.parametrize(
    "token",
    [
        encode_cursor("other-listing", 5, secret=SECRET),  # issued by another listing of the same key shape
        encode_cursor("listing", 5, secret="another-secret"),  # signed by someone else
        encode_cursor("listing", "five", secret=SECRET),  # the right listing and MAC, the wrong key type
        encode_cursor("listing", 5, secret=SECRET)[:-2] + "AA",  # changed
        "not base64 at all!",
        "",
    ],
)
def test_a_cursor_from_elsewhere_is_refused(token: str) -> None:
    with pytest.raises(CursorError):
        decode_cursor(token, listing="listing", key_type=int, secret=SECRET)


async def test_a_cursor_of_one_listing_is_a_400_on_another(
    client: Client, conn: asyncpg.Connection, admin_account: Account
) -> None:
    # Jobs and events are both keyed by a bigint id: only the listing bound into the cursor
    # tells a jobs cursor from an events one.
    async with conn.transaction():
        for n in range(2):
            await jobs.enqueue(conn, kind="noop", payload={"n": n})
            await events.record_event(conn, actor="test", kind="noop", subject=f"thing:{n}", payload={})
    jobs_page = await client.get("/admin/jobs", params={"limit": 1}, headers=admin_account.headers)
    events_page = await client.get("/admin/events", params={"limit": 1}, headers=admin_account.headers)
    jobs_cursor, events_cursor = jobs_page.json()["next"], events_page.json()["next"]
    assert jobs_cursor
    assert events_cursor

    assert (
        await client.get("/admin/events", params={"after": events_cursor}, headers=admin_account.headers)
    ).is_success
    for path, cursor in (("/admin/events", jobs_cursor), ("/admin/jobs", events_cursor)):
        refused = await client.get(path, params={"after": cursor}, headers=admin_account.headers)
        assert refused.status_code == 400, refused.text
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert [error["field"] for error in refused.json()["errors"]] == ["after"]


async def test_authors_page_by_signed_cursor(client: Client, staff: Account) -> None:
    made = [
        (await client.post("/authors", json={"name": f"Author {n}"}, headers=staff.headers)).json()["id"]
        for n in range(5)
    ]
    first = (await client.get("/authors", params={"limit": 3})).json()
    second = (await client.get("/authors", params={"limit": 3, "after": first["next"]})).json()
    assert [author["id"] for author in first["items"] + second["items"]] == made[::-1]
    assert second["next"] is None
    # The old form, a bare author id as `after`, is no cursor.
    bare = await client.get("/authors", params={"after": made[2]})
    assert bare.status_code == 400
    assert [error["field"] for error in bare.json()["errors"]] == ["after"]

"""The job queue's admin API: jobs newest first by keyset, one status at a time, dead letters retried."""

from typing import Any

import asyncpg

from tests.support.accounts import Account
from tests.support.clients import Client
from tests.support.jobs import enqueue, numbered, set_done, set_failed
from tests.support.problems import assert_problem


async def page(client: Client, admin: Account, **params: Any) -> dict[str, Any]:
    response = await client.get("/admin/jobs", params=params, headers=admin.headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_admins_page_through_jobs_newest_first(
    client: Client, conn: asyncpg.Connection, admin_account: Account
) -> None:
    ids = await enqueue(conn, "noop", numbered(5))
    newest_first = ids[::-1]

    seen: list[int] = []
    body = await page(client, admin_account, limit=2)
    pages = 1
    while body["next"] is not None:
        assert len(body["items"]) == 2
        seen += [item["id"] for item in body["items"]]
        body = await page(client, admin_account, limit=2, after=body["next"])
        pages += 1
    seen += [item["id"] for item in body["items"]]

    assert pages == 3
    assert seen == newest_first
    first = (await page(client, admin_account, limit=1))["items"][0]
    assert first["id"] == ids[-1]
    assert (first["kind"], first["payload"], first["status"], first["attempts"]) == ("noop", {"n": 4}, "queued", 0)
    assert (await page(client, admin_account))["next"] is None  # 5 jobs fit the default page of 20


async def test_the_status_filter_lists_only_jobs_in_that_state(
    client: Client, conn: asyncpg.Connection, admin_account: Account
) -> None:
    ids = await enqueue(conn, "noop", numbered(6))
    await set_failed(conn, ids[1], ids[3], ids[4])
    await set_done(conn, ids[0])

    failed = await page(client, admin_account, status="failed")
    assert [item["id"] for item in failed["items"]] == [ids[4], ids[3], ids[1]]
    assert {(item["status"], item["last_error"]) for item in failed["items"]} == {("failed", "x")}

    first = await page(client, admin_account, status="failed", limit=2)
    assert [item["id"] for item in first["items"]] == [ids[4], ids[3]]
    rest = await page(client, admin_account, status="failed", limit=2, after=first["next"])
    assert ([item["id"] for item in rest["items"]], rest["next"]) == ([ids[1]], None)

    assert [item["id"] for item in (await page(client, admin_account, status="done"))["items"]] == [ids[0]]
    assert [item["id"] for item in (await page(client, admin_account, status="queued"))["items"]] == [ids[5], ids[2]]
    assert (await page(client, admin_account, status="running"))["items"] == []


async def test_bad_query_parameters_are_refused(
    client: Client, conn: asyncpg.Connection, admin_account: Account
) -> None:
    await enqueue(conn, "noop", numbered(3))
    headers = admin_account.headers
    assert_problem(await client.get("/admin/jobs", params={"status": "bogus"}, headers=headers), 400)
    assert_problem(await client.get("/admin/jobs", params={"limit": 0}, headers=headers), 400)

    cursor = (await page(client, admin_account, limit=1))["next"]
    assert cursor is not None
    tampered = cursor[:-2] + ("AA" if cursor[-2:] != "AA" else "BB")
    body = assert_problem(await client.get("/admin/jobs", params={"after": tampered}, headers=headers), 400)
    assert "after" in {error["field"] for error in body.get("errors", [])}, body
    assert_problem(await client.get("/admin/jobs", params={"after": "not-a-cursor"}, headers=headers), 400)


async def test_only_admins_see_or_retry_jobs(
    client: Client, conn: asyncpg.Connection, customer: Account, staff: Account
) -> None:
    [job_id] = await enqueue(conn, "noop", numbered(1))
    await set_failed(conn, job_id)
    assert_problem(await client.get("/admin/jobs"), 401)
    for account in (customer, staff):
        assert_problem(await client.get("/admin/jobs", headers=account.headers), 403)
        assert_problem(await client.post(f"/admin/jobs/{job_id}/retry", headers=account.headers), 403)
    assert_problem(await client.post(f"/admin/jobs/{job_id}/retry"), 401)
    row = await conn.fetchrow("SELECT status, attempts FROM jobs WHERE id = $1", job_id)
    assert tuple(row) == ("failed", 5), "a refused retry changed the job"


async def test_a_failed_job_is_retried_with_fresh_attempts(
    client: Client, conn: asyncpg.Connection, admin_account: Account
) -> None:
    [job_id] = await enqueue(conn, "noop", numbered(1))
    await set_failed(conn, job_id)

    response = await client.post(f"/admin/jobs/{job_id}/retry", headers=admin_account.headers)
    assert response.status_code == 200, response.text
    retried = response.json()
    assert (retried["id"], retried["status"], retried["attempts"], retried["max_attempts"]) == (job_id, "queued", 0, 5)

    row = await conn.fetchrow("SELECT status, attempts, run_at <= now() AS due FROM jobs WHERE id = $1", job_id)
    assert tuple(row) == ("queued", 0, True)
    listed = await page(client, admin_account, status="queued")
    assert [item["id"] for item in listed["items"]] == [job_id]
    assert (await page(client, admin_account, status="failed"))["items"] == []


async def test_only_failed_jobs_can_be_retried(
    client: Client, conn: asyncpg.Connection, admin_account: Account
) -> None:
    done, queued = await enqueue(conn, "noop", numbered(2))
    await set_done(conn, done)
    headers = admin_account.headers

    for job_id, status in ((done, "done"), (queued, "queued")):
        body = assert_problem(await client.post(f"/admin/jobs/{job_id}/retry", headers=headers), 409)
        assert body["type"] == "urn:bookshop:problem:job-state-conflict"
        assert status in body["detail"]
    rows = await conn.fetch("SELECT id, status, attempts FROM jobs ORDER BY id")
    assert [tuple(row) for row in rows] == [(done, "done", 1), (queued, "queued", 0)]

    body = assert_problem(await client.post("/admin/jobs/999999/retry", headers=headers), 404)
    assert "999999" in body["detail"]

"""The accounts API as a client sees it: statuses, bodies, problem+json, and what the database keeps."""

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
import pytest

from tests.support.accounts import Account, AccountFactory
from tests.support.clients import Client, ClientFactory
from tests.support.problems import assert_problem
from tests.support.waiting import wait_until


async def register(
    client: Client, email: str, name: str = "Reader", headers: dict[str, str] | None = None, **fields: Any
) -> Any:
    return await client.post("/users", json={"email": email, "name": name, **fields}, headers=headers or {})


# Registration


async def test_registering_returns_the_user_and_a_working_key_shown_once(client: Client) -> None:
    response = await register(client, "New.Reader@Example.com", "New Reader", preferences={"newsletter": True})
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["user"]["email"] == "New.Reader@Example.com"
    assert body["user"]["role"] == "customer"
    assert body["user"]["preferences"] == {"newsletter": True}
    assert uuid.UUID(body["user"]["id"]).version == 7
    me = await client.get("/me", headers={"Authorization": f"Bearer {body['api_key']}"})
    assert me.status_code == 200
    assert me.json()["id"] == body["user"]["id"]
    keys = await client.get("/me/api-keys", headers={"Authorization": f"Bearer {body['api_key']}"})
    assert body["api_key"] not in keys.text
    assert "secret_hash" not in keys.json()[0]


async def test_an_email_taken_in_any_case_is_a_409_naming_the_conflict(client: Client) -> None:
    assert (await register(client, "taken@example.com")).status_code == 201
    body = assert_problem(await register(client, "TAKEN@example.COM"), 409)
    assert body["constraint"] == "users_email_key_live_key"
    assert "taken@example.com" in body["detail"]
    assert "INSERT" not in body["detail"]


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"email": "not-an-email", "name": "X"}, "email"),
        ({"email": "a@b", "name": "X"}, "email"),
        ({"email": "x@example.com", "name": ""}, "name"),
        ({"email": "x@example.com", "name": "   "}, "name"),
        ({"email": "x@example.com", "name": 42}, "name"),
        ({"email": "x@example.com"}, "name"),
        ({"email": "x@example.com", "name": "X", "preferences": [1]}, "preferences"),
        ({"email": "x@example.com", "name": "X", "role": "owner"}, "role"),
    ],
)
async def test_bad_registrations_are_400_naming_the_field(client: Client, payload: dict[str, Any], field: str) -> None:
    assert_problem(await client.post("/users", json=payload), 400, field=field)


async def test_unknown_fields_and_malformed_json_are_400(client: Client) -> None:
    unknown = await client.post("/users", json={"email": "x@example.com", "name": "X", "is_admin": True})
    assert "is_admin" in str(assert_problem(unknown, 400))
    malformed = await client.post("/users", content=b'{"email": ', headers={"content-type": "application/json"})
    assert_problem(malformed, 400)


async def test_only_an_admin_creates_staff(client: Client, staff: Account, admin_account: Account) -> None:
    assert_problem(await register(client, "s1@example.com", role="staff"), 403)
    assert_problem(await register(client, "s2@example.com", role="staff", headers=staff.headers), 403)
    created = await register(client, "s3@example.com", role="staff", headers=admin_account.headers)
    assert created.status_code == 201
    assert created.json()["user"]["role"] == "staff"


# Reading and changing a user


async def test_a_customer_reads_only_their_own_account(
    client: Client, customer: Account, make_account: AccountFactory
) -> None:
    other: Account = await make_account()
    assert (await client.get(f"/users/{customer.user_id}", headers=customer.headers)).status_code == 200
    assert_problem(await client.get(f"/users/{other.user_id}", headers=customer.headers), 403)


async def test_staff_read_anyone_and_unknown_ids_are_404(client: Client, customer: Account, staff: Account) -> None:
    assert (await client.get(f"/users/{customer.user_id}", headers=staff.headers)).json()["email"] == customer.email
    assert_problem(await client.get(f"/users/{uuid.uuid4()}", headers=staff.headers), 404)
    assert_problem(await client.get("/users/not-a-uuid", headers=staff.headers), 404)


async def test_patch_changes_only_the_fields_sent(client: Client, customer: Account, conn: asyncpg.Connection) -> None:
    # The key's first use is written off the request's path (accounts/key_use.py, within a second),
    # and stamping last_login_at moves updated_at: wait for it, so it cannot land between the two
    # patches below and look like the empty one wrote the row.
    await client.get("/me", headers=customer.headers)

    async def use_written() -> bool:
        query = "SELECT last_login_at IS NOT NULL FROM users WHERE id = $1"
        return bool(await conn.fetchval(query, customer.user_id))

    await wait_until(use_written, "the key's first use was written")
    before = (await client.get("/me", headers=customer.headers)).json()
    response = await client.patch(f"/users/{customer.user_id}", json={"name": "Renamed"}, headers=customer.headers)
    assert response.status_code == 200, response.text
    after = response.json()
    assert after["name"] == "Renamed"
    assert after["email"] == before["email"]
    assert after["preferences"] == before["preferences"]
    assert after["updated_at"] > before["updated_at"]
    unchanged = await client.patch(f"/users/{customer.user_id}", json={}, headers=customer.headers)
    assert unchanged.json()["updated_at"] == after["updated_at"]


async def test_patch_rejects_bad_values_taken_emails_and_role_changes_by_non_admins(
    client: Client, customer: Account, staff: Account, admin_account: Account, make_account: AccountFactory
) -> None:
    other: Account = await make_account(email="other@example.com")
    url = f"/users/{customer.user_id}"
    assert_problem(await client.patch(url, json={"email": "nope"}, headers=customer.headers), 400, field="email")
    assert_problem(await client.patch(url, json={"nickname": "x"}, headers=customer.headers), 400)
    assert_problem(await client.patch(url, json={"email": "OTHER@example.com"}, headers=customer.headers), 409)
    assert_problem(await client.patch(url, json={"role": "admin"}, headers=customer.headers), 403)
    assert_problem(await client.patch(url, json={"is_active": False}, headers=staff.headers), 403)
    assert_problem(await client.patch(f"/users/{other.user_id}", json={"name": "x"}, headers=customer.headers), 403)
    promoted = await client.patch(url, json={"role": "staff"}, headers=admin_account.headers)
    assert promoted.json()["role"] == "staff"


# Soft delete and restore


async def test_soft_delete_frees_the_email_and_restore_reports_a_taken_one(
    client: Client, customer: Account, staff: Account, conn: asyncpg.Connection
) -> None:
    deleted = await client.delete(f"/users/{customer.user_id}", headers=customer.headers)
    assert deleted.status_code == 204
    assert_problem(await client.get(f"/users/{customer.user_id}", headers=staff.headers), 404)
    assert_problem(await client.get("/me", headers=customer.headers), 401)  # the account's keys stop working
    assert await conn.fetchval("SELECT deleted_at IS NOT NULL FROM users WHERE id = $1", customer.user_id)

    again = await register(client, customer.email.upper())
    assert again.status_code == 201, again.text

    body = assert_problem(await client.post(f"/users/{customer.user_id}/restore", headers=staff.headers), 409)
    assert body["constraint"] == "users_email_key_live_key"

    await client.delete(f"/users/{again.json()['user']['id']}", headers=staff.headers)
    restored = await client.post(f"/users/{customer.user_id}/restore", headers=staff.headers)
    assert restored.status_code == 200
    assert restored.json()["email"] == customer.email
    assert (await client.get("/me", headers=customer.headers)).status_code == 200


async def test_delete_and_restore_permissions(client: Client, customer: Account, make_account: AccountFactory) -> None:
    other: Account = await make_account()
    assert_problem(await client.delete(f"/users/{other.user_id}", headers=customer.headers), 403)
    assert_problem(await client.post(f"/users/{customer.user_id}/restore", headers=customer.headers), 403)
    assert_problem(
        await client.post(f"/users/{uuid.uuid4()}/restore", headers=(await make_account("staff")).headers), 404
    )


# Listing


async def test_list_pages_newest_first_with_totals(
    client: Client, staff: Account, make_account: AccountFactory
) -> None:
    created = [await make_account(email=f"p{n}@example.com") for n in range(5)]
    first = (await client.get("/users?per_page=2", headers=staff.headers)).json()
    assert (first["total"], first["pages"], first["page"], first["per_page"]) == (6, 3, 1, 2)
    assert [item["email"] for item in first["items"]] == ["p4@example.com", "p3@example.com"]
    last = (await client.get("/users?per_page=2&page=3", headers=staff.headers)).json()
    assert [item["id"] for item in last["items"]] == [str(created[0].user_id), str(staff.user_id)]
    beyond = (await client.get("/users?per_page=2&page=9", headers=staff.headers)).json()
    assert (beyond["items"], beyond["total"], beyond["total_exact"]) == ([], 6, True)
    await client.delete(f"/users/{created[0].user_id}", headers=staff.headers)
    assert (await client.get("/users", headers=staff.headers)).json()["total"] == 5


async def test_user_totals_above_the_exact_limit_are_labelled_estimates(
    make_client: ClientFactory, staff: Account, make_account: AccountFactory, conn: asyncpg.Connection
) -> None:
    await conn.execute(
        "INSERT INTO users (email, name) SELECT 'many' || n || '@example.com', 'Many ' || n"
        " FROM generate_series(1, 30000) AS n"
    )
    for n in range(3):
        await make_account(email=f"few{n}@example.com")
    await conn.execute("ANALYZE users")
    async with make_client(exact_total_limit=5_000) as client:
        every = (await client.get("/users", params={"per_page": 5}, headers=staff.headers)).json()
        assert every["total_exact"] is False
        assert 30_004 * 0.9 < every["total"] < 30_004 * 1.1  # the live users as ANALYZE counted them
        assert every["pages"] == -(-every["total"] // 5)
        assert [item["email"] for item in every["items"]][:3] == [f"few{n}@example.com" for n in (2, 1, 0)]
        active = (await client.get("/users", params={"is_active": "true"}, headers=staff.headers)).json()
        assert active["total_exact"] is False
        assert 30_004 * 0.9 < active["total"] < 30_004 * 1.1
        # "Many 1", "Many 10" … "Many 19999": 11,111 users, estimated from the search expression's
        # statistics (migration 0022).
        named = (await client.get("/users", params={"q": "many 1"}, headers=staff.headers)).json()
        assert named["total_exact"] is False
        assert 11_111 * 0.8 < named["total"] < 11_111 * 1.2
        few = (await client.get("/users", params={"q": "few"}, headers=staff.headers)).json()
        assert (few["total"], few["total_exact"]) == (3, True)  # a filter below the limit is counted


async def test_list_filters_by_activity_text_and_preferences(
    client: Client, staff: Account, admin_account: Account, make_account: AccountFactory
) -> None:
    await make_account(
        email="ann@example.com", name="Ann 100% Reader", preferences={"newsletter": True, "genres": ["poetry"]}
    )
    bob: Account = await make_account(email="bob@example.com", name="Bob", preferences={"newsletter": False})
    await client.patch(f"/users/{bob.user_id}", json={"is_active": False}, headers=admin_account.headers)

    def emails(response: Any) -> set[str]:
        assert response.status_code == 200, response.text
        return {item["email"] for item in response.json()["items"]}

    get = client.get
    assert emails(await get("/users", params={"q": "ANN"}, headers=staff.headers)) == {"ann@example.com"}
    assert emails(await get("/users", params={"q": "100%"}, headers=staff.headers)) == {"ann@example.com"}
    assert emails(await get("/users", params={"q": "0% r"}, headers=staff.headers)) == {"ann@example.com"}
    assert emails(await get("/users", params={"q": "%"}, headers=staff.headers)) == {"ann@example.com"}
    assert emails(await get("/users", params={"q": "bob@"}, headers=staff.headers)) == {"bob@example.com"}
    assert emails(await get("/users", params={"is_active": "false"}, headers=staff.headers)) == {"bob@example.com"}
    prefers = {"prefers": '{"newsletter": true}'}
    assert emails(await get("/users", params=prefers, headers=staff.headers)) == {"ann@example.com"}
    prefers = {"prefers": '{"genres": ["poetry"]}'}
    assert emails(await get("/users", params=prefers, headers=staff.headers)) == {"ann@example.com"}


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("per_page=101", "per_page"),
        ("per_page=0", "per_page"),
        ("page=0", "page"),
        ("page=x", "page"),
        ("prefers=not-json", "prefers"),
        ("prefers=[1]", "prefers"),
        ("is_active=maybe", "is_active"),
    ],
)
async def test_bad_list_parameters_are_400_naming_them(client: Client, staff: Account, query: str, field: str) -> None:
    assert_problem(await client.get(f"/users?{query}", headers=staff.headers), 400, field=field)


async def test_customers_cannot_list_users(client: Client, customer: Account) -> None:
    assert_problem(await client.get("/users", headers=customer.headers), 403)


# Profile


async def test_profile_lifecycle(client: Client, customer: Account, staff: Account) -> None:
    url = f"/users/{customer.user_id}/profile"
    assert_problem(await client.get(url, headers=customer.headers), 404)
    created = await client.put(
        url, json={"bio": "Reads at night.", "website": "https://example.com"}, headers=customer.headers
    )
    assert created.status_code == 201, created.text
    replaced = await client.put(url, json={"bio": "Reads at dawn."}, headers=customer.headers)
    assert replaced.status_code == 200
    assert replaced.json()["website"] is None  # PUT replaces the whole profile
    assert (await client.get(url, headers=staff.headers)).json()["bio"] == "Reads at dawn."
    assert (await client.delete(url, headers=customer.headers)).status_code == 204
    assert_problem(await client.delete(url, headers=customer.headers), 404)


async def test_profile_validation_and_access(
    client: Client, customer: Account, staff: Account, make_account: AccountFactory
) -> None:
    url = f"/users/{customer.user_id}/profile"
    assert (await client.put(url, json={"bio": "x" * 500}, headers=customer.headers)).status_code == 201
    assert_problem(await client.put(url, json={"bio": "x" * 501}, headers=customer.headers), 400, field="bio")
    assert_problem(await client.put(url, json={"website": "ftp://x"}, headers=customer.headers), 400, field="website")
    other: Account = await make_account()
    assert_problem(await client.get(f"/users/{other.user_id}/profile", headers=customer.headers), 403)
    assert_problem(await client.put(f"/users/{uuid.uuid4()}/profile", json={}, headers=staff.headers), 404)


async def test_the_database_enforces_the_bio_limit_too(conn: asyncpg.Connection, customer: Account) -> None:
    with pytest.raises(asyncpg.CheckViolationError):
        await conn.execute("INSERT INTO user_profiles (user_id, bio) VALUES ($1, repeat('x', 501))", customer.user_id)


# Settings


async def test_settings_upsert_says_created_then_updated(client: Client, customer: Account) -> None:
    url = f"/users/{customer.user_id}/settings"
    first = await client.put(f"{url}/theme", json={"value": "dark"}, headers=customer.headers)
    assert (first.status_code, first.json()["created"]) == (201, True)
    second = await client.put(
        f"{url}/theme", json={"value": {"mode": "light", "contrast": 2}}, headers=customer.headers
    )
    assert (second.status_code, second.json()["created"]) == (200, False)
    await client.put(f"{url}/page.size", json={"value": 50}, headers=customer.headers)
    assert (await client.get(url, headers=customer.headers)).json() == {
        "settings": {"theme": {"mode": "light", "contrast": 2}, "page.size": 50}
    }
    assert (await client.delete(f"{url}/theme", headers=customer.headers)).status_code == 204
    assert_problem(await client.delete(f"{url}/theme", headers=customer.headers), 404)
    assert (await client.get(url, headers=customer.headers)).json() == {"settings": {"page.size": 50}}


async def test_bad_settings_are_400(client: Client, customer: Account, staff: Account) -> None:
    url = f"/users/{customer.user_id}/settings"
    assert_problem(await client.put(f"{url}/Theme", json={"value": 1}, headers=customer.headers), 400, field="key")
    assert_problem(await client.put(f"{url}/theme", json={"value": None}, headers=customer.headers), 400, field="value")
    assert_problem(await client.put(f"{url}/theme", json={}, headers=customer.headers), 400, field="value")
    assert_problem(await client.get(f"/users/{uuid.uuid4()}/settings", headers=staff.headers), 404)


async def test_concurrent_upserts_of_one_setting_all_succeed_and_leave_one_row(
    client: Client, customer: Account, conn: asyncpg.Connection
) -> None:
    url = f"/users/{customer.user_id}/settings/theme"
    responses = await asyncio.gather(*(client.put(url, json={"value": n}, headers=customer.headers) for n in range(20)))
    assert sorted(r.status_code for r in responses) == [200] * 19 + [201]
    rows = await conn.fetch("SELECT value FROM user_settings WHERE user_id = $1", customer.user_id)
    assert len(rows) == 1
    assert rows[0]["value"] in range(20)


# API keys and authentication


async def test_missing_malformed_and_wrong_keys_are_401_with_a_challenge(client: Client, customer: Account) -> None:
    wrong_secret = customer.key[:-4] + ("AAAA" if not customer.key.endswith("AAAA") else "BBBB")
    for headers in [
        {},
        {"Authorization": "Basic abc"},
        {"Authorization": "Bearer "},
        {"Authorization": "Bearer nope"},
        {"Authorization": f"Bearer {wrong_secret}"},
        {"Authorization": "Bearer bk_0123456789ab_unknown"},
    ]:
        response = await client.get("/me", headers=headers)
        assert_problem(response, 401)
        assert response.headers["www-authenticate"].startswith("Bearer")


async def test_issued_keys_work_and_revoked_keys_fail_at_once(
    client: Client, customer: Account, make_account: AccountFactory
) -> None:
    issued = await client.post("/me/api-keys", json={"name": "laptop"}, headers=customer.headers)
    assert issued.status_code == 201
    new_key, key_id = issued.json()["key"], issued.json()["api_key"]["id"]
    new_headers = {"Authorization": f"Bearer {new_key}"}
    assert (await client.get("/me", headers=new_headers)).status_code == 200
    listed = (await client.get("/me/api-keys", headers=customer.headers)).json()
    assert [k["name"] for k in listed] == ["laptop", "test"]

    other: Account = await make_account()
    assert_problem(await client.delete(f"/me/api-keys/{key_id}", headers=other.headers), 404)
    revoked = await client.delete(f"/me/api-keys/{key_id}", headers=customer.headers)
    assert revoked.status_code == 200
    assert revoked.json()["revoked_at"] is not None
    assert_problem(await client.get("/me", headers=new_headers), 401)
    assert (await client.get("/me", headers=customer.headers)).status_code == 200


async def test_use_is_recorded_without_a_write_per_request(
    client: Client, customer: Account, conn: asyncpg.Connection
) -> None:
    async def stamps() -> asyncpg.Record:
        return await conn.fetchrow(
            "SELECT k.last_used_at, k.updated_at, u.last_login_at FROM api_keys k JOIN users u ON u.id = k.user_id"
            " WHERE u.id = $1",
            customer.user_id,
        )

    assert (await stamps())["last_used_at"] is None
    await client.get("/me", headers=customer.headers)
    # Written off the request's path, within about a second (accounts/key_use.py).
    first = await wait_until(lambda: _stamped(stamps), "the key's use was recorded")
    assert first["last_login_at"] is not None
    for _ in range(3):
        await client.get("/me", headers=customer.headers)
    recorder = client.app.state.key_use
    assert recorder.pending == {}
    assert await recorder.flush() == 0
    assert await stamps() == first


async def _stamped(stamps: Callable[[], Awaitable[asyncpg.Record]]) -> asyncpg.Record | None:
    row = await stamps()
    return row if row["last_used_at"] is not None else None


async def test_a_deactivated_account_is_refused_with_403(
    client: Client, customer: Account, admin_account: Account
) -> None:
    await client.patch(f"/users/{customer.user_id}", json={"is_active": False}, headers=admin_account.headers)
    body = assert_problem(await client.get("/me", headers=customer.headers), 403)
    assert "deactivated" in body["detail"]


# Admin: bulk deactivation


async def test_deactivate_inactive_users_in_one_statement(
    client: Client, admin_account: Account, make_account: AccountFactory, conn: asyncpg.Connection
) -> None:
    stale = [await make_account(email=f"stale{n}@example.com") for n in range(3)]
    fresh: Account = await make_account(email="fresh@example.com")
    never: Account = await make_account(email="never@example.com")
    await conn.execute(
        "UPDATE users SET last_login_at = now() - interval '100 days' WHERE id = any($1::uuid[])",
        [a.user_id for a in stale],
    )
    await conn.execute("UPDATE users SET last_login_at = now() - interval '5 days' WHERE id = $1", fresh.user_id)
    await conn.execute("UPDATE users SET created_at = now() - interval '400 days' WHERE id = $1", never.user_id)
    await client.get("/me", headers=admin_account.headers)  # the admin signs in now

    response = await client.post("/admin/users/deactivate-inactive?days=30", headers=admin_account.headers)
    assert response.status_code == 200, response.text
    assert response.json() == {"deactivated": 4}
    inactive = await conn.fetch("SELECT email FROM users WHERE NOT is_active ORDER BY email")
    assert [r["email"] for r in inactive] == [
        "never@example.com",
        "stale0@example.com",
        "stale1@example.com",
        "stale2@example.com",
    ]
    again = await client.post("/admin/users/deactivate-inactive?days=30", headers=admin_account.headers)
    assert again.json() == {"deactivated": 0}


async def test_an_admin_back_after_months_is_not_swept_by_their_own_deactivation(
    client: Client, admin_account: Account, make_account: AccountFactory, conn: asyncpg.Connection
) -> None:
    returning: Account = await make_account("admin")
    await conn.execute(
        "UPDATE users SET last_login_at = now() - interval '100 days', created_at = now() - interval '200 days'"
        " WHERE id = $1",
        returning.user_id,
    )
    await conn.execute(
        "UPDATE api_keys SET last_used_at = now() - interval '100 days' WHERE user_id = $1", returning.user_id
    )
    await client.get("/me", headers=admin_account.headers)
    # Their use of the key is noted by this very request, and written before the sweep decides.
    response = await client.post("/admin/users/deactivate-inactive?days=30", headers=returning.headers)
    assert response.json() == {"deactivated": 0}
    assert (await client.get("/me", headers=returning.headers)).status_code == 200


async def test_deactivation_needs_admin_and_a_positive_day_count(
    client: Client, staff: Account, admin_account: Account
) -> None:
    assert_problem(await client.post("/admin/users/deactivate-inactive?days=30", headers=staff.headers), 403)
    assert_problem(
        await client.post("/admin/users/deactivate-inactive?days=0", headers=admin_account.headers), 400, field="days"
    )
    assert_problem(
        await client.post("/admin/users/deactivate-inactive", headers=admin_account.headers), 400, field="days"
    )
    assert_problem(await client.post("/admin/users/deactivate-inactive?days=30"), 401)

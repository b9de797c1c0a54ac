"""The pool under pressure: 503 when no connection can be had, and no connection ever lost."""

import asyncio
from typing import Any

from tests.support.accounts import Account
from tests.support.clients import Client, ClientFactory


async def test_an_exhausted_pool_answers_503_with_retry_after(make_client: ClientFactory, customer: Account) -> None:
    async with make_client(pool_min_size=1, pool_max_size=1, pool_acquire_timeout=0.2, retry_after_seconds=3) as client:
        database = client.app.state.database
        async with database.pool.acquire():
            response = await client.get("/me", headers=customer.headers)
        assert response.status_code == 503
        assert response.headers["retry-after"] == "3"
        assert response.json()["type"] == "urn:bookshop:problem:database-unavailable"
        assert (await client.get("/me", headers=customer.headers)).status_code == 200


async def test_failed_requests_return_their_connection(
    make_client: ClientFactory, customer: Account, staff: Account
) -> None:
    """Requests that fail in authentication, validation or the database give the connection back."""
    async with make_client(pool_min_size=1, pool_max_size=1, pool_acquire_timeout=1) as client:
        failing = [
            lambda: client.get("/me", headers={"Authorization": "Bearer bk_0123456789ab_wrong"}),
            lambda: client.get("/users?per_page=0", headers=staff.headers),
            lambda: client.get("/users", headers=customer.headers),
            lambda: client.post("/users", json={"email": customer.email, "name": "Duplicate"}),
            lambda: client.put(
                f"/users/{customer.user_id}/settings/theme", json={"value": None}, headers=customer.headers
            ),
        ]
        statuses = [(await send()).status_code for send in failing * 3]
        assert set(statuses) == {400, 401, 403, 409}
        pool = client.app.state.database.pool
        assert pool.get_idle_size() == pool.get_size()
        assert (await client.get("/me", headers=customer.headers)).status_code == 200


async def test_concurrent_requests_queue_for_a_small_pool(make_client: ClientFactory, customer: Account) -> None:
    async with make_client(pool_min_size=1, pool_max_size=2, pool_acquire_timeout=5) as client:
        responses: list[Any] = await asyncio.gather(*(client.get("/me", headers=customer.headers) for _ in range(30)))
        assert {r.status_code for r in responses} == {200}


async def test_the_client_sees_its_caller_only(client: Client, customer: Account, staff: Account) -> None:
    """Callers never bleed into each other when requests interleave on shared pooled connections."""
    results = await asyncio.gather(*(client.get("/me", headers=account.headers) for account in [customer, staff] * 10))
    assert [r.json()["id"] for r in results] == [str(a.user_id) for a in [customer, staff] * 10]

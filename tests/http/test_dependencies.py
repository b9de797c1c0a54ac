"""What handlers receive: the database, whose pool under pressure answers 503 and never loses a
connection, and dependencies resolved in turn, in the request's own task."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
from litestar import Litestar, get
from litestar.di import NamedDependency, Provide
from litestar.exceptions import ValidationException
from litestar.testing import AsyncTestClient

from bookshop.db.admin import APP_ROLE
from bookshop.db.pool import Connection, Database
from bookshop.http.dependencies import resolve_dependencies_in_turn
from tests.support.accounts import Account, AccountFactory
from tests.support.clients import Client, ClientFactory, ConcurrentClientFactory
from tests.support.problems import assert_problem
from tests.support.waiting import wait_until


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


class ConnectionDemand:
    """Counts, through the app's Database, the requests that asked for a connection and have not
    given it back yet (waiting for one or holding one), and those holding one: the most of each
    at any moment."""

    def __init__(self, database: Database) -> None:
        self.asking = self.holding = self.most_asking = self.most_holding = 0
        lend = database.connection

        @asynccontextmanager
        async def counted() -> AsyncIterator[Connection]:
            self.asking += 1
            self.most_asking = max(self.most_asking, self.asking)
            try:
                async with lend() as conn:
                    self.holding += 1
                    self.most_holding = max(self.most_holding, self.holding)
                    try:
                        yield conn
                    finally:
                        self.holding -= 1
            finally:
                self.asking -= 1

        # transaction() borrows through connection() too, so this sees every request's borrowing.
        database.connection = counted  # type: ignore[method-assign]


async def most_sessions_while(conn: asyncpg.Connection, role: str, running: "asyncio.Future[Any]") -> int:
    """The most sessions of `role` the server had in this database at once while `running` ran,
    as pg_stat_activity shows them (sampled as fast as the server answers)."""
    most = 0
    while True:
        finished = running.done()
        sessions = await conn.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND usename = $1", role
        )
        most = max(most, sessions)
        if finished:
            return most


async def test_concurrent_requests_queue_for_a_small_pool(
    make_concurrent_client: ConcurrentClientFactory, make_account: AccountFactory, conn: asyncpg.Connection
) -> None:
    """Thirty requests at once on a pool of two: the ones without a connection wait their turn
    (none is refused), each gets its own caller's answer, and the server never sees a third
    connection of the service; afterwards every connection is back in the pool."""
    max_size = 2
    accounts: list[Account] = [await make_account() for _ in range(6)]
    callers = accounts * 5
    async with make_concurrent_client(pool_min_size=1, pool_max_size=max_size, pool_acquire_timeout=5) as client:
        pool = client.app.state.database.pool
        demand = ConnectionDemand(client.app.state.database)
        requests = asyncio.gather(*(client.get("/me", headers=account.headers) for account in callers))
        most_sessions = await most_sessions_while(conn, APP_ROLE, requests)
        responses = await requests

        async def all_given_back() -> bool:
            return pool.get_idle_size() == pool.get_size()

        # The keys' first use is written in the background (accounts/key_use.py), on a pooled
        # connection held for a moment after the answers: a leaked one would never come back.
        await wait_until(all_given_back, "every connection back in the pool")
        pool_size, idle_size = pool.get_size(), pool.get_idle_size()

    assert [r.status_code for r in responses] == [200] * len(callers), [r.text for r in responses]
    assert [r.json()["id"] for r in responses] == [str(account.user_id) for account in callers]
    assert demand.most_asking > max_size, "the requests never had to wait for a connection"
    assert demand.most_holding <= max_size
    assert 1 <= most_sessions <= max_size, f"{most_sessions} sessions for a pool of {max_size}"
    assert pool_size <= max_size
    assert idle_size == pool_size, "a connection was not given back"


async def test_the_client_sees_its_caller_only(
    make_concurrent_client: ConcurrentClientFactory, customer: Account, staff: Account
) -> None:
    """Callers never bleed into each other when requests interleave on shared pooled connections."""
    async with make_concurrent_client() as client:
        callers = [customer, staff] * 10
        results = await asyncio.gather(*(client.get("/me", headers=account.headers) for account in callers))
    assert [r.json()["id"] for r in results] == [str(a.user_id) for a in [customer, staff] * 10]


async def test_dependencies_resolve_in_the_requests_own_task_in_the_order_of_their_names() -> None:
    """`zeta` and `alpha` do not depend on each other: Litestar alone would resolve each in a task
    of its own, in an order that changes from process to process."""
    resolve_dependencies_in_turn()
    seen: list[tuple[str, asyncio.Task[Any] | None]] = []

    def recording(name: str, *, fails: bool = False) -> Provide:
        def provide() -> str:
            seen.append((name, asyncio.current_task()))
            if fails:
                raise ValidationException(detail=f"{name} failed")
            return name

        return Provide(provide, sync_to_thread=False)

    @get("/both", dependencies={"zeta": recording("zeta"), "alpha": recording("alpha")})
    async def both(zeta: NamedDependency[str], alpha: NamedDependency[str]) -> list[str]:
        seen.append(("handler", asyncio.current_task()))
        return [alpha, zeta]

    @get("/failing", dependencies={"zeta": recording("zeta", fails=True), "alpha": recording("alpha", fails=True)})
    async def failing(zeta: NamedDependency[str], alpha: NamedDependency[str]) -> None: ...

    async with AsyncTestClient(Litestar([both, failing])) as client:
        assert (await client.get("/both")).json() == ["alpha", "zeta"]
        assert [name for name, _ in seen] == ["alpha", "zeta", "handler"]
        assert len({task for _, task in seen}) == 1
        for _ in range(3):
            failed = await client.get("/failing")
            assert failed.status_code == 400
            assert failed.json()["detail"] == "alpha failed"


async def test_two_bad_paging_parameters_always_get_the_same_answer(client: Client) -> None:
    """/books?limit=0&page=0: both `keyset` and `numbered` refuse, and `keyset` is resolved first."""
    for _ in range(3):
        assert_problem(await client.get("/books?limit=0&page=0"), 400, field="limit")

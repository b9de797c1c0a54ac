"""The rate limit across processes: with RATE_LIMIT_STORE on a Redis, two workers of `bookshop
serve` share one budget per key and one per address; with the memory default each worker has
its own. And when the shared store is gone, requests get a 503, never a free pass or a 500."""

import asyncio
from collections import Counter
from pathlib import Path

import httpx

from bookshop.db.urls import DatabaseUrls
from tests.support.accounts import AccountFactory
from tests.support.clients import ClientFactory
from tests.support.problems import assert_problem
from tests.support.redis import redis_server
from tests.support.served import Served, serve

LIMIT = 50
REQUESTS = 150
CLIENTS = 5


async def statuses(served: Served, headers: dict[str, str]) -> Counter[int]:
    """REQUESTS GETs of /books from CLIENTS clients at once, each request on a new connection,
    so the kernel spreads them over both workers."""

    async def one_client(count: int) -> list[int]:
        limits = httpx.Limits(max_keepalive_connections=0)
        async with httpx.AsyncClient(base_url=served.base, limits=limits, headers=headers, timeout=10) as client:
            return [(await client.get("/books?limit=5")).status_code for _ in range(count)]

    answers = await asyncio.gather(*(one_client(REQUESTS // CLIENTS) for _ in range(CLIENTS)))
    return Counter(status for answer in answers for status in answer)


def workers_that_answered(served: Served) -> int:
    """How many worker processes counted a request (each writes its own metrics file)."""
    return len(list(served.metrics_dir().glob("counter_*.db")))


async def test_two_workers_share_one_budget_per_key_and_per_address(
    database_urls: DatabaseUrls, tmp_path: Path, redis_url: str, make_account: AccountFactory
) -> None:
    account = await make_account()
    settings = {"WORKERS": "2", "RATE_LIMIT_PER_MINUTE": str(LIMIT), "RATE_LIMIT_STORE": redis_url}
    with serve(database_urls, tmp_path, **settings) as served:
        served.wait_for_workers(2)
        assert await statuses(served, account.headers) == {200: LIMIT, 429: REQUESTS - LIMIT}
        assert await statuses(served, {}) == {200: LIMIT, 429: REQUESTS - LIMIT}  # the address's own budget
        assert workers_that_answered(served) == 2


async def test_with_the_memory_store_each_worker_has_its_own_budget(
    database_urls: DatabaseUrls, tmp_path: Path
) -> None:
    """The default, for one process: what RATE_LIMIT_STORE is there for."""
    with serve(database_urls, tmp_path, WORKERS="2", RATE_LIMIT_PER_MINUTE=str(LIMIT)) as served:
        served.wait_for_workers(2)
        answered = await statuses(served, {})
        assert workers_that_answered(served) == 2
    assert LIMIT < answered[200] <= 2 * LIMIT


async def test_without_its_store_the_limiter_answers_503(make_client: ClientFactory, tmp_path: Path) -> None:
    with redis_server(tmp_path / "redis") as url:
        async with make_client(rate_limit_per_minute=LIMIT, rate_limit_store=url) as client:
            assert (await client.get("/books")).headers["ratelimit-remaining"] == str(LIMIT - 1)
    async with make_client(rate_limit_per_minute=LIMIT, rate_limit_store=url) as client:
        refused = await client.get("/books")
        assert_problem(refused, 503)
        assert refused.headers["retry-after"] == "2"
        assert (await client.get("/health")).status_code == 200  # probes never ask the store


async def test_a_budget_in_redis_says_what_is_left_and_when_it_resets(
    make_client: ClientFactory, redis_url: str, make_account: AccountFactory
) -> None:
    account = await make_account()
    async with make_client(rate_limit_per_minute=3, rate_limit_store=redis_url) as client:
        answers = [await client.get("/me", headers=account.headers) for _ in range(3)]
        assert [answer.headers["ratelimit-remaining"] for answer in answers] == ["2", "1", "0"]
        assert answers[0].headers["ratelimit-policy"] == "3; w=60"
        assert 0 < int(answers[0].headers["ratelimit-reset"]) <= 60
        limited = assert_problem(await client.get("/me", headers=account.headers), 429)
        assert "API key" in limited["detail"]
        refused = await client.get("/me", headers=account.headers)
        assert 0 < int(refused.headers["retry-after"]) <= 60
        assert refused.headers["ratelimit-remaining"] == "0"
        assert (await client.get("/books")).status_code == 200  # the address has a budget of its own

"""A key that does not authenticate buys nothing: it is refused on every route, public ones
included, and counts against its address's budget like a request without a key; only a key
that proved itself has a budget of its own, and nobody can spend it by sending its prefix."""

import secrets

import pytest

from tests.support.accounts import Account
from tests.support.clients import Client, ClientFactory
from tests.support.problems import assert_problem

LIMIT = 5
CHALLENGE = 'Bearer realm="bookshop"'


def made_up_key() -> dict[str, str]:
    return {"Authorization": f"Bearer bk_{secrets.token_hex(6)}_x"}


@pytest.mark.parametrize("path", ["/books", "/books/no-such-book", "/authors", "/tags", "/health"])
@pytest.mark.parametrize(
    "authorization", ["Bearer bk_0123456789ab_made-up", "Bearer not-a-key", "Basic dXNlcjpwYXNz", "Bearer "]
)
async def test_a_bad_key_on_a_public_route_is_a_401(client: Client, path: str, authorization: str) -> None:
    response = await client.get(path, headers={"Authorization": authorization})
    assert_problem(response, 401)
    assert response.headers["www-authenticate"] == CHALLENGE


async def test_a_good_key_on_a_public_route_is_served(client: Client, customer: Account) -> None:
    assert (await client.get("/books", headers=customer.headers)).status_code == 200


async def test_made_up_keys_share_their_address_budget(make_client: ClientFactory) -> None:
    async with make_client(rate_limit_per_minute=LIMIT) as client:
        statuses = [(await client.get("/books", headers=made_up_key())).status_code for _ in range(LIMIT + 20)]
        assert statuses == [401] * LIMIT + [429] * 20
        # Asking without a key from the same address draws on the same, spent budget.
        limited = assert_problem(await client.get("/books"), 429)
        assert "address" in limited["detail"]


async def test_a_good_key_keeps_its_own_budget_while_made_up_keys_spend_the_address(
    make_client: ClientFactory, customer: Account
) -> None:
    async with make_client(rate_limit_per_minute=LIMIT) as client:
        for _ in range(LIMIT + 3):
            await client.get("/books", headers=made_up_key())
        assert (await client.get("/books", headers=made_up_key())).status_code == 429
        remaining = [
            (await client.get("/books", headers=customer.headers)).headers["ratelimit-remaining"] for _ in range(LIMIT)
        ]
        assert remaining == [str(n) for n in range(LIMIT - 1, -1, -1)]
        assert_problem(await client.get("/me", headers=customer.headers), 429)  # its own budget, now spent


async def test_a_key_s_budget_cannot_be_spent_by_sending_its_prefix(
    make_client: ClientFactory, customer: Account
) -> None:
    prefix = customer.key.split("_")[1]
    async with make_client(rate_limit_per_minute=LIMIT) as limited:
        statuses = [
            (await limited.get("/me", headers={"Authorization": f"Bearer bk_{prefix}_wrong"})).status_code
            for _ in range(LIMIT + 2)
        ]
        assert statuses == [401] * LIMIT + [429] * 2
        mine = await limited.get("/me", headers=customer.headers)
        assert mine.status_code == 200
        assert mine.headers["ratelimit-remaining"] == str(LIMIT - 1)

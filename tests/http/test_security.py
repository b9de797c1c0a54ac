"""The HTTP edge: security headers, the per-key rate limit, CORS, and keys kept out of logs."""

import logging

import asyncpg
import pytest

from bookshop.accounts import api_keys, service
from bookshop.http.security import API_CSP, DOCS_CSP
from tests.support.accounts import TEST_PEPPER, Account, AccountFactory
from tests.support.clients import Client, ClientFactory


async def test_every_response_carries_the_security_headers(client: Client, customer: Account) -> None:
    responses = [
        await client.get("/me", headers=customer.headers),  # 200
        await client.get("/me"),  # 401 from an exception handler
        await client.get("/no/such/route"),  # 404 before any route
        await client.get("/schema/openapi.json"),
    ]
    for response in responses:
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "no-referrer"
        assert response.headers["content-security-policy"] == API_CSP
        assert "server" not in response.headers  # granian adds its name, never a version


async def test_the_docs_page_may_load_swagger_ui_and_nothing_else(client: Client) -> None:
    page = await client.get("/schema")
    assert page.status_code == 200
    assert page.headers["content-security-policy"] == DOCS_CSP
    assert "/schema/assets/swagger-ui-bundle.js" in page.text  # served by the app (http/docs_page.py)
    for other_host in ("cdn.jsdelivr.net", "cdn.redoc.ly", "fonts.googleapis.com", "unpkg.com"):
        assert other_host not in page.text
    document = (await client.get("/schema/openapi.json")).json()
    assert document["components"]["securitySchemes"]["ApiKey"] == {"type": "http", "scheme": "bearer"}


async def test_each_key_has_its_own_rate_limit(make_client: ClientFactory, make_account: AccountFactory) -> None:
    first: Account = await make_account()
    second: Account = await make_account()
    async with make_client(rate_limit_per_minute=3) as client:
        remaining = [(await client.get("/me", headers=first.headers)).headers["ratelimit-remaining"] for _ in range(3)]
        assert remaining == ["2", "1", "0"]
        limited = await client.get("/me", headers=first.headers)
        assert limited.status_code == 429
        assert limited.headers["content-type"] == "application/problem+json"
        assert 0 < int(limited.headers["retry-after"]) <= 60
        assert limited.headers["ratelimit-limit"] == "3"
        assert (await client.get("/me", headers=second.headers)).status_code == 200
        probes = [(await client.get("/health")).status_code for _ in range(5)]
        assert probes == [200] * 5  # probes are never limited


async def test_rate_limiting_can_be_switched_off(make_client: ClientFactory, customer: Account) -> None:
    async with make_client(rate_limit_per_minute=0) as client:
        responses = [await client.get("/me", headers=customer.headers) for _ in range(5)]
        assert {r.status_code for r in responses} == {200}
        assert "ratelimit-limit" not in responses[0].headers


async def test_cors_is_off_unless_origins_are_configured(make_client: ClientFactory, customer: Account) -> None:
    preflight = {"Origin": "https://shop.example", "Access-Control-Request-Method": "GET"}
    async with make_client() as client:
        assert "access-control-allow-origin" not in (await client.options("/me", headers=preflight)).headers
        assert (
            "access-control-allow-origin"
            not in (await client.get("/me", headers={**customer.headers, "Origin": "https://shop.example"})).headers
        )
    async with make_client(cors_allow_origins="https://shop.example") as client:
        allowed = await client.options("/me", headers=preflight)
        assert allowed.headers["access-control-allow-origin"] == "https://shop.example"
        other = await client.get("/me", headers={**customer.headers, "Origin": "https://evil.example"})
        assert other.headers.get("access-control-allow-origin") != "https://evil.example"


async def test_api_keys_never_reach_the_logs(
    client: Client, customer: Account, caplog: pytest.LogCaptureFixture
) -> None:
    wrong = customer.key[:-3] + "xyz"
    with caplog.at_level(logging.DEBUG):
        await client.get("/me", headers=customer.headers)
        await client.get("/me", headers={"Authorization": f"Bearer {wrong}"})
        await client.post("/users", json={"email": "logged@example.com", "name": "Logged"})
    secrets = [customer.key, customer.key.split("_", 2)[2], wrong]
    for record in caplog.records:
        text = record.getMessage()
        assert not any(secret in text for secret in secrets), text


@pytest.mark.parametrize("known_prefix", [True, False])
async def test_a_wrong_key_costs_the_same_comparison_whether_or_not_its_prefix_exists(
    app_conn: asyncpg.Connection, customer: Account, monkeypatch: pytest.MonkeyPatch, known_prefix: bool
) -> None:
    comparisons: list[bytes] = []
    real_compare = api_keys.hmac.compare_digest

    def counting_compare(a: bytes, b: bytes) -> bool:
        comparisons.append(b)
        return real_compare(a, b)

    monkeypatch.setattr(api_keys.hmac, "compare_digest", counting_compare)
    prefix = customer.key.split("_")[1] if known_prefix else "0123456789ab"
    assert await service.authenticate(app_conn, token=f"bk_{prefix}_wrong-secret", pepper=TEST_PEPPER) is None
    assert len(comparisons) == 1

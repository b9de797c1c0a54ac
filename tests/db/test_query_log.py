"""The query logger: statements known by their query's name, slow ones logged by name with their
duration, and never a parameter value or the statement's text."""

import logging

import msgspec
import pytest

from bookshop.accounts import service as accounts
from bookshop.db.pool import create_pool, named_statements
from bookshop.db.queries import queries
from bookshop.db.query_log import TRANSACTION_STATEMENTS, QueryObserver
from bookshop.settings import Settings
from tests.support.clients import ClientFactory
from tests.support.logs import LogLines
from tests.support.waiting import wait_until

SECRET = "zebra-7f3a9c-secret"


def test_every_named_query_is_known_by_its_name() -> None:
    names = named_statements()
    loaded = {name for name in queries.available_queries if not name.endswith("_cursor")}
    assert set(names.values()) == loaded | set(TRANSACTION_STATEMENTS.values())
    assert names[queries.catalog.get_book_detail.sql] == "catalog.get_book_detail"
    assert names[queries.jobs.count_jobs_by_status.sql] == "jobs.count_jobs_by_status"


def test_nothing_to_observe_installs_nothing() -> None:
    assert not QueryObserver({}, slow_query_ms=0).active
    assert QueryObserver({}, slow_query_ms=200).active


async def test_a_slow_named_query_is_logged_by_name_without_its_values(
    make_client: ClientFactory, logs: LogLines
) -> None:
    email = f"{SECRET}@example.com"
    async with make_client(slow_query_ms=0.001) as client:  # every statement counts as slow
        created = await client.post("/users", json={"email": email, "name": SECRET}, headers={"X-Request-ID": "slow-1"})
        assert created.status_code == 201, created.text
        # Again: the unique violation's message quotes the email; the log names only its type.
        again = await client.post("/users", json={"email": email, "name": SECRET}, headers={"X-Request-ID": "slow-2"})
        assert again.status_code == 409

    def slow(lines: list[dict[str, object]]) -> list[dict[str, object]]:
        return [line for line in lines if line["logger"] == "bookshop.db.slow_query"]

    await logs.until(lambda lines: any(line.get("request_id") == "slow-2" for line in slow(lines)))
    first = [line for line in slow(logs.lines) if line["request_id"] == "slow-1"]
    assert "accounts.create_user" in {line["query"] for line in first}
    line = next(line for line in first if line["query"] == "accounts.create_user")
    assert line["level"] == "WARNING"
    assert isinstance(line["duration_ms"], float)
    assert line["message"] == f"slow query accounts.create_user: {line['duration_ms']:.1f} ms"
    assert set(line) == {"time", "level", "logger", "message", "query", "duration_ms", "request_id"}
    failed = next(line for line in slow(logs.lines) if line["request_id"] == "slow-2" and "error" in line)
    assert (failed["query"], failed["error"]) == ("accounts.create_user", "UniqueViolationError")
    # Not in any line the app wrote: no parameter value, no statement text.
    assert SECRET not in logs.text
    assert "INSERT INTO" not in logs.text


async def test_no_slow_query_log_below_the_threshold_or_when_off(make_client: ClientFactory, logs: LogLines) -> None:
    for threshold in (0, 60_000):
        async with make_client(slow_query_ms=threshold) as client:
            await client.get("/books", headers={"X-Request-ID": f"fast-{threshold}"})
    await logs.until(lambda lines: any(line.get("request_id") == "fast-60000" for line in lines))
    assert not [line for line in logs.lines if line["logger"] == "bookshop.db.slow_query"]


async def test_pools_without_metrics_still_log_slow_queries(
    settings: Settings, database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """The worker's pool: create_pool's default observer is the slow-query log alone."""
    pool = await create_pool(msgspec.structs.replace(settings, slow_query_ms=0.001), dsn=database_url)
    try:
        with caplog.at_level(logging.WARNING, logger="bookshop.db.slow_query"):
            async with pool.acquire() as conn:
                assert await accounts.get_user_by_email(conn, email=f"{SECRET}@example.com") is None

            async def slow_records() -> list[logging.LogRecord]:
                return [r for r in caplog.records if r.name == "bookshop.db.slow_query"]

            # asyncpg calls query loggers later, with loop.call_soon
            records = await wait_until(slow_records, "the slow query was logged")
    finally:
        await pool.close()
    assert [getattr(r, "query", None) for r in records] == ["accounts.get_user_by_email"]
    for record in records:
        assert SECRET not in record.getMessage()
        assert SECRET not in repr(vars(record))

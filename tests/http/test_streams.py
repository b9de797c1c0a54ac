"""A response that fails after it started never looks complete, through the real server
(`bookshop serve`, granian): the connection ends without chunked encoding's last chunk, the
failure is logged at ERROR with the request id, and it is counted as a 500, not as the 200 it
started as."""

from pathlib import Path

import asyncpg
import httpx
import pytest

from bookshop.db.urls import DatabaseUrls
from tests.support.served import Served, serve

BOOKS = 1200  # more than two of the export's 500-line chunks go out before the bad row
DEPTH = 3000  # deeper than msgspec decodes: the row cannot be read back at all


@pytest.fixture
async def unreadable_last_book(conn: asyncpg.Connection) -> None:
    """BOOKS books, and one more the service cannot read."""
    author = await conn.fetchval("INSERT INTO authors (name) VALUES ('A. Writer') RETURNING id")
    await conn.execute(
        """INSERT INTO books (slug, title, author_id, price)
           SELECT 'book-' || n, 'Book ' || n, $1, 5 FROM generate_series(1, $2) AS n""",
        author,
        BOOKS,
    )
    # Metadata nested past what the service can decode, written past the app (psql, a script):
    # PostgreSQL takes it, and the export meets it after everything else (ids grow).
    await conn.execute(
        "INSERT INTO books (slug, title, author_id, price, metadata) VALUES ('deep', 'Deep', $1, 5, $2::text::jsonb)",
        author,
        '{"a": ' + "[" * DEPTH + "]" * DEPTH + "}",
    )


def read_all(response: httpx.Response, *, into: bytearray) -> None:
    for chunk in response.iter_raw():
        into += chunk


def export_status_count(served: Served, status: str) -> float:
    return served.metric("bookshop_http_requests_total", method="GET", route="/books/export", status=status)


@pytest.mark.usefixtures("unreadable_last_book")
def test_an_export_that_fails_midway_ends_abnormally_and_counts_as_a_500(
    database_urls: DatabaseUrls, tmp_path: Path
) -> None:
    with serve(database_urls, tmp_path, RATE_LIMIT_PER_MINUTE="0") as served:
        received = bytearray()
        with httpx.stream(
            "GET", f"{served.base}/books/export", headers={"X-Request-ID": "export-cut-1"}, timeout=30
        ) as response:
            assert response.status_code == 200  # it had started as one
            with pytest.raises(httpx.RemoteProtocolError, match="incomplete chunked read"):
                read_all(response, into=received)
        lines = received.splitlines()
        assert len(lines) >= 1000  # two whole chunks went out before the failure
        assert b"deep" not in received

        assert export_status_count(served, "500") == 1
        assert export_status_count(served, "200") == 0
        log = served.wait_for_log(lambda line: line["logger"] == "bookshop.access", "the export's access line")
        mine = [line for line in log if line.get("request_id") == "export-cut-1"]
        [error] = [line for line in mine if line["level"] == "ERROR"]
        assert "/books/export" in error["message"]
        assert "RecursionError" in error["exception"]
        [access] = [line for line in mine if line["logger"] == "bookshop.access"]
        assert access["status"] == 500

        # The server goes on: the next request on a new connection is answered.
        assert httpx.get(f"{served.base}/books?limit=1", timeout=10).status_code == 200

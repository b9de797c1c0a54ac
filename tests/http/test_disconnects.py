"""A client that hangs up before its request arrived whole is no server error, through the real
server (`bookshop serve`, granian): it is counted and logged as 499 (nginx's "client closed
request"), at INFO, and nothing is logged at ERROR."""

from pathlib import Path

import httpx
import pytest

from bookshop.db.urls import DatabaseUrls
from tests.support.accounts import Account
from tests.support.served import head_of, serve

ROUTES = {
    "/users": "application/json",  # public; Litestar reads the body into the route's struct
    "/books/import": "application/x-ndjson",  # staff; the handler reads its body itself
}


@pytest.mark.parametrize("path", ROUTES)
def test_a_client_gone_mid_body_is_a_499_not_a_500(
    database_urls: DatabaseUrls, staff: Account, tmp_path: Path, path: str
) -> None:
    with serve(database_urls, tmp_path, RATE_LIMIT_PER_MINUTE="0") as served:
        with served.connect() as connection:
            headers = {**staff.headers, "X-Request-ID": "gone-1"}
            head = head_of(path, content_length=1000, headers=headers, content_type=ROUTES[path])
            connection.sendall(head + b'{"email":')  # 10 of the 1,000 bytes announced, then hang up

        log = served.wait_for_log(lambda line: line.get("request_id") == "gone-1" and "status" in line, "access line")
        mine = [line for line in log if line.get("request_id") == "gone-1"]
        [access] = [line for line in mine if line["logger"] == "bookshop.access"]
        assert access["status"] == 499
        assert any(line["level"] == "INFO" and "disconnected" in line["message"] for line in mine)
        assert [line for line in log if line["level"] == "ERROR"] == []
        assert "[ERROR]" not in served.log.read_text()  # granian's own lines neither

        requests = served.metric("bookshop_http_requests_total", method="POST", route=path, status="499")
        assert requests == 1
        assert 'status="500"' not in httpx.get(f"{served.base}/metrics", timeout=10).text

"""A request body must arrive whole within BODY_TIMEOUT_SECONDS, through the real server
(`bookshop serve`, granian, which bounds only the time to read a request's head): a body that
stalls is answered 408 problem+json and its connection closed; a slow body that completes in
time is served."""

import json
import time
from pathlib import Path

from bookshop.db.urls import DatabaseUrls
from tests.support.accounts import Account
from tests.support.served import head_of, read_until_closed, serve

TIMEOUT = 2.0
SLACK = 8.0  # a loaded machine may answer late, never early


def test_a_body_that_stalls_is_answered_408_and_its_connection_closed(
    database_urls: DatabaseUrls, staff: Account, tmp_path: Path
) -> None:
    with serve(database_urls, tmp_path, BODY_TIMEOUT_SECONDS=str(TIMEOUT), RATE_LIMIT_PER_MINUTE="0") as served:
        with served.connect() as connection:
            body = b'{"name": "Octavia E. Butler"}'
            connection.sendall(head_of("/authors", content_length=len(body), headers=staff.headers))
            sent = time.monotonic()
            connection.sendall(body[:12])  # half of it, and no more
            answer = read_until_closed(connection, within=TIMEOUT + SLACK)
            waited = time.monotonic() - sent
        head, _, payload = answer.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 408 "), answer
        assert b"content-type: application/problem+json" in head.lower()
        assert b"connection: close" in head.lower()
        problem = json.loads(payload)
        assert problem["status"] == 408
        assert problem["type"] == "urn:bookshop:problem:request-timeout"
        assert f"{TIMEOUT:g} s" in problem["detail"]
        assert waited >= TIMEOUT - 0.5  # not before the time was up (read_until_closed bounds the rest)
        assert served.metric("bookshop_http_requests_total", method="POST", route="/authors", status="408") == 1


def test_a_slow_body_that_completes_in_time_is_served(
    database_urls: DatabaseUrls, staff: Account, tmp_path: Path
) -> None:
    with serve(database_urls, tmp_path, BODY_TIMEOUT_SECONDS=str(TIMEOUT), RATE_LIMIT_PER_MINUTE="0") as served:
        with served.connect() as connection:
            body = b'{"name": "Octavia E. Butler"}'
            extra = {**staff.headers, "Connection": "close"}
            connection.sendall(head_of("/authors", content_length=len(body), headers=extra))
            for piece in (body[:10], body[10:20], body[20:]):
                connection.sendall(piece)
                time.sleep(TIMEOUT / 8)  # the client is slow: that is the point, not a wait for a sign
            answer = read_until_closed(connection, within=TIMEOUT + SLACK)
        assert answer.startswith(b"HTTP/1.1 201 "), answer
        assert json.loads(answer.partition(b"\r\n\r\n")[2])["name"] == "Octavia E. Butler"

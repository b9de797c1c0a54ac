"""Error responses: every one is problem+json (RFC 9457) with a bookshop problem type."""

from typing import Any

PROBLEM = "application/problem+json"


def assert_problem(response: Any, status: int, *, field: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["type"].startswith("urn:bookshop:problem:")
    if field is not None:
        assert field in {error["field"] for error in body["errors"]}, body
    return body

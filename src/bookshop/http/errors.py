"""Every error leaves as application/problem+json (RFC 9457), mapped here and only here.

Constraints decide in the database; this module turns their violations into the status a
client can act on. Database faults become 503 with Retry-After. No SQL text, parameter value or
traceback reaches a client; unexpected errors are logged server-side and answered with a 500.
"""

import logging
import re
from http import HTTPStatus
from typing import Any, Literal, TypeVar

import asyncpg
import msgspec
from asyncpg.exceptions._base import DataError as ClientDataError
from litestar import Request, Response
from litestar.exceptions import HTTPException, InternalServerException, NotFoundException, ValidationException
from litestar.types import ExceptionHandlersMap

from bookshop.http.observe import client_disconnected

T = TypeVar("T")

logger = logging.getLogger("bookshop.errors")

PROBLEM_JSON = "application/problem+json"

# SQLSTATE → (status, problem kind). Codes first, then their two-character class.
_BY_SQLSTATE: dict[str, tuple[int, str]] = {
    "23505": (409, "unique-violation"),
    "23503": (409, "foreign-key-violation"),
    "23P01": (409, "exclusion-violation"),
    "23514": (422, "check-violation"),
    "23502": (400, "not-null-violation"),
    "42501": (403, "insufficient-privilege"),  # above all a row-level security WITH CHECK refusal
    "57014": (503, "statement-timeout"),
    "55P03": (503, "lock-not-available"),
    "40001": (503, "serialization-failure"),
    "40P01": (503, "deadlock-detected"),
    "25006": (503, "read-only-database"),  # a standby, or a primary failing over
}
_BY_SQLSTATE_CLASS: dict[str, tuple[int, str]] = {
    "22": (400, "invalid-data"),
    "23": (409, "integrity-violation"),
    "54": (422, "input-too-large"),  # e.g. a value too large to index, or too deeply nested
    "08": (503, "database-unavailable"),
    "53": (503, "database-unavailable"),
    "57": (503, "database-unavailable"),
}


class FieldError(msgspec.Struct, omit_defaults=True):
    field: str
    message: str
    source: str | None = None


class Problem(msgspec.Struct, omit_defaults=True):
    type: str
    title: str
    status: int
    detail: str | None = None
    constraint: str | None = None
    errors: list[FieldError] | None = None


class ProblemError(HTTPException):
    """A refusal a route words itself: its own problem kind, and the fields at fault."""

    def __init__(self, status_code: int, kind: str, *, detail: str, errors: list[FieldError] | None = None) -> None:
        super().__init__(status_code=status_code, detail=detail)
        self.kind = kind
        self.errors = errors


def found(value: T | Literal[False] | None, detail: str) -> T:
    """What a handler looked up, or a 404 saying what is missing (for None, or False from a
    change that found no row)."""
    if value is None or value is False:
        raise NotFoundException(detail=detail)
    return value


def field_error(field: str, message: str, *, source: str = "query") -> ValidationException:
    """A 400 naming the field at fault and where it came from (query, body, path, header)."""
    return ValidationException(
        detail="The request is not valid.", extra=[{"key": field, "message": message, "source": source}]
    )


def problem_response(
    status: int,
    kind: str,
    *,
    detail: str | None = None,
    constraint: str | None = None,
    errors: list[FieldError] | None = None,
    headers: dict[str, str] | None = None,
) -> Response[bytes]:
    problem = Problem(
        type=f"urn:bookshop:problem:{kind}",
        title=HTTPStatus(status).phrase,
        status=status,
        detail=detail,
        constraint=constraint,
        errors=errors,
    )
    return Response(
        content=msgspec.json.encode(problem),
        status_code=status,
        media_type=PROBLEM_JSON,
        headers=headers,
    )


def _retry_after(request: Request[Any, Any, Any]) -> dict[str, str]:
    return {"Retry-After": str(request.app.state.settings.retry_after_seconds)}


# msgspec names a missing or unknown body field only in its message ("... field `name`"), and so
# do the structs' own checks ("`price` must be ...").
_FIELD_IN_MESSAGE = re.compile(r"`([^`]+)`")
# Litestar names a missing parameter only in its detail: "Missing required query parameter 'days' ...".
_MISSING_PARAMETER = re.compile(r"Missing required (\w+) parameter '([^']+)'")


def _field_error(item: dict[str, Any]) -> FieldError:
    message = str(item.get("message"))
    field = str(item.get("key") or "body")
    if field == "data" and (named := _FIELD_IN_MESSAGE.search(message)):
        field = named.group(1)
    return FieldError(field=field, message=message, source=item.get("source"))


def _kind_of(status: int) -> str:
    return HTTPStatus(status).phrase.lower().replace(" ", "-").replace("'", "")


def handle_http_exception(request: Request[Any, Any, Any], exc: HTTPException) -> Response[bytes]:
    status = exc.status_code
    if isinstance(exc, InternalServerException) and client_disconnected(request.scope):
        # Litestar's word for a body cut short by the client: no fault here, and no one to
        # answer (http/observe.py counts it as 499).
        logger.info("client disconnected before its request arrived whole: %s %s", request.method, request.url.path)
        return problem_response(400, "client-disconnected", detail="The request ended before its body did.")
    if isinstance(exc, ProblemError):
        return problem_response(status, exc.kind, detail=exc.detail, errors=exc.errors)
    if isinstance(exc, ValidationException):
        errors = [_field_error(item) for item in exc.extra or [] if isinstance(item, dict)]
        if not errors and (missing := _MISSING_PARAMETER.search(exc.detail)):
            errors = [FieldError(field=missing.group(2), message=exc.detail, source=missing.group(1))]
        return problem_response(400, "validation-error", detail="The request is not valid.", errors=errors)
    detail = exc.detail if exc.detail and exc.detail != HTTPStatus(status).phrase else None
    headers = dict(exc.headers or {})
    if status == 429 and "RateLimit-Reset" in headers:
        # When to come back: the rate limiter's own reset, in the header clients act on.
        headers["Retry-After"] = headers["RateLimit-Reset"]
        detail = "Too many requests from this API key, or without one from this address; see Retry-After."
    if status >= 500:
        logger.error("HTTP %s on %s %s: %s", status, request.method, request.url.path, exc.detail)
        detail = None
    return problem_response(status, _kind_of(status), detail=detail, headers=headers)


def handle_postgres_error(request: Request[Any, Any, Any], exc: asyncpg.PostgresError) -> Response[bytes]:
    sqlstate = exc.sqlstate or ""
    status, kind = _BY_SQLSTATE.get(sqlstate) or _BY_SQLSTATE_CLASS.get(sqlstate[:2]) or (500, "internal-error")
    if status == 503:
        logger.warning("database unavailable (%s) on %s %s", sqlstate, request.method, request.url.path)
        return problem_response(
            503, kind, detail="The database is not available right now; retry shortly.", headers=_retry_after(request)
        )
    if status == 500:
        logger.error("database error %s on %s %s", sqlstate, request.method, request.url.path, exc_info=exc)
        return problem_response(500, kind)
    # Integrity and data errors describe the client's own input (PostgreSQL's DETAIL line,
    # e.g. "Key (lower(email))=(a@b.example) already exists."), never SQL text. A check's DETAIL
    # shows the whole row ("Failing row contains (...)"), columns the client never sent included:
    # the constraint's name says enough.
    constraint = getattr(exc, "constraint_name", None)
    detail = getattr(exc, "detail", None) or str(exc)
    if detail.startswith("Failing row contains"):
        detail = f"The change breaks the rule {constraint}." if constraint else "The change breaks a rule of the table."
    return problem_response(status, kind, detail=detail, constraint=constraint)


def handle_client_data_error(request: Request[Any, Any, Any], exc: Exception) -> Response[bytes]:
    """asyncpg refusing a parameter before it reaches the server (a time or number it cannot
    encode): the client's input, but asyncpg's message shows the value's repr, so it stays here."""
    logger.info("parameter refused by asyncpg on %s %s: %s", request.method, request.url.path, exc)
    return problem_response(
        400, "invalid-data", detail="A value in the request is out of the range the database takes."
    )


def handle_unavailable(request: Request[Any, Any, Any], exc: Exception) -> Response[bytes]:
    """Pool acquire timeouts, refused connections, connections lost mid-query."""
    logger.warning("database unavailable (%s) on %s %s", type(exc).__name__, request.method, request.url.path)
    return problem_response(
        503,
        "database-unavailable",
        detail="The database is not available right now; retry shortly.",
        headers=_retry_after(request),
    )


def handle_unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[bytes]:
    logger.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return problem_response(500, "internal-error")


EXCEPTION_HANDLERS: ExceptionHandlersMap = {
    HTTPException: handle_http_exception,
    asyncpg.PostgresError: handle_postgres_error,
    ClientDataError: handle_client_data_error,
    asyncpg.InterfaceError: handle_unavailable,
    asyncpg.InternalClientError: handle_unavailable,  # seen while a server restarts
    OSError: handle_unavailable,  # TimeoutError (pool acquire) and refused connections are OSErrors
    Exception: handle_unexpected,
}

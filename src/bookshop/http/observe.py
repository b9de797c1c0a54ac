"""Every HTTP request gets an id, is counted and timed, and leaves one access log line.

The observer wraps the whole Litestar app (app.asgi_handler), not a route: Litestar runs
app-level middleware only after routing and inside the exception handlers, so a middleware
would miss unknown paths, would see an exception instead of the status of its problem+json
answer, and would have reset the request id before errors.py logs. Out here it sees every
response as sent, error responses included, and the id is set for all the code in between.

The request id is the caller's `X-Request-ID` when it is 1 to 128 characters of letters,
digits and `.`, `_`, `:`, `-` (what proxies and tracing send: UUIDs, hex, ULIDs), else a new
random 32-hex-digit id. Either way it is returned in the response's `X-Request-ID`, and every
log record written during the request carries it (http/logs.py).
"""

import logging
import re
import time
import uuid

from litestar.datastructures import MutableScopeHeaders
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from bookshop.http.logs import REQUEST_ID
from bookshop.http.metrics import Metrics

access_logger = logging.getLogger("bookshop.access")

REQUEST_ID_HEADER = "X-Request-ID"
_REQUEST_ID_HEADER_KEY = REQUEST_ID_HEADER.lower().encode()
_VALID_REQUEST_ID = re.compile(rb"[A-Za-z0-9._:-]{1,128}")
UNMATCHED_ROUTE = "unmatched"
# Anything else a client sends as a method counts as OTHER, so it cannot mint label values.
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def request_id_for(scope: Scope) -> str:
    """The caller's X-Request-ID when it is sane, else a new one."""
    for name, value in scope["headers"]:
        if name == _REQUEST_ID_HEADER_KEY:
            if _VALID_REQUEST_ID.fullmatch(value):
                return value.decode("ascii")
            break
    return uuid.uuid4().hex


class RequestObserver:
    """ASGI wrapper: the request id, the request metrics (when metrics is given), the access log."""

    def __init__(self, app: ASGIApp, *, metrics: Metrics | None) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return
        request_id = request_id_for(scope)
        token = REQUEST_ID.set(request_id)
        path = scope["path"]
        status = 500  # unless a response starts: the server answers 500 to an app that raised

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableScopeHeaders.from_message(message)[REQUEST_ID_HEADER] = request_id
            await send(message)

        started = time.perf_counter()
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            seconds = time.perf_counter() - started
            method = scope["method"] if scope["method"] in METHODS else "OTHER"
            route = scope.get("path_template") or UNMATCHED_ROUTE
            if self.metrics is not None:
                self.metrics.observe_request(method, route, status, seconds)
            duration_ms = round(seconds * 1000, 2)
            access_logger.info(
                "%s %s %s %.1f ms",
                method,
                route,
                status,
                duration_ms,
                extra={"method": method, "route": route, "path": path, "status": status, "duration_ms": duration_ms},
            )
            REQUEST_ID.reset(token)

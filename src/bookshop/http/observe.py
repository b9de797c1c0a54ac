"""Every HTTP request gets an id, is counted and timed, and leaves one access log line; every
response carries the security headers (http/security.py); a request's body must arrive in time,
and a response that did not reach its end is never counted as a success.

The observer wraps the whole Litestar app (app.asgi_handler), not a route: Litestar runs
app-level middleware only after routing and inside the exception handlers, so a middleware
would miss unknown paths, would see an exception instead of the status of its problem+json
answer, and would have reset the request id before errors.py logs. Out here it sees every
response as sent, error responses included, and the id is set for all the code in between.

The request id is the caller's `X-Request-ID` when it is 1 to 128 characters of letters,
digits and `.`, `_`, `:`, `-` (what proxies and tracing send: UUIDs, hex, ULIDs), else a new
random 32-hex-digit id. Either way it is returned in the response's `X-Request-ID`, and every
log record written during the request carries it (http/logs.py).

What a request is counted as (the `status` of the metrics and the access line):
- the status the app answered, when the response went out to its last byte;
- 499 (nginx's "client closed request") when the client disconnected before the response
  was complete: while it sent its body, or while a stream was going out. Logged at INFO: the
  service did nothing wrong. (A client gone after its request arrived whole is not seen: the
  server tells the app only when it reads, so that answer counts with its own status.)
- 500 when the app failed after its response had started (a stream whose iterator raised):
  logged at ERROR with the traceback, and the exception goes on to the server, which closes
  the connection without the end of the body (chunked encoding's last, empty chunk), so no
  client can take the part it got for the whole answer.

A request's body must have arrived whole within `body_timeout` seconds of the request, unless
the app has answered first; a body still incomplete by then is answered 408 (http/errors.py
words it) and the connection is closed.
"""

import asyncio
import logging
import os
import re
import time
from typing import Any, cast

from litestar.enums import ScopeType
from litestar.exceptions import HTTPException
from litestar.types import ASGIApp, Message, Receive, ReceiveMessage, Scope, Send

from bookshop.http.logs import REQUEST_ID
from bookshop.http.metrics import Metrics
from bookshop.http.security import security_headers

logger = logging.getLogger("bookshop.http")
access_logger = logging.getLogger("bookshop.access")

REQUEST_ID_HEADER = "X-Request-ID"
_REQUEST_ID_HEADER_KEY = REQUEST_ID_HEADER.lower().encode()
_VALID_REQUEST_ID = re.compile(rb"[A-Za-z0-9._:-]{1,128}")
UNMATCHED_ROUTE = "unmatched"
# Anything else a client sends as a method counts as OTHER, so it cannot mint label values.
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
CLIENT_CLOSED_REQUEST = 499
RESPONSE_CUT = 500
# Set in the scope once the client has disconnected before its response was complete.
_CLIENT_GONE = "bookshop.client_gone"


class BodyTimeout(HTTPException):
    """The request's body did not arrive whole in time."""

    status_code = 408


def client_disconnected(scope: Scope) -> bool:
    """Whether the client of this request went away before its response was complete."""
    return bool(cast(dict[str, Any], scope).get(_CLIENT_GONE))


def request_id_for(scope: Scope) -> str:
    """The caller's X-Request-ID when it is sane, else a new one."""
    for name, value in scope["headers"]:
        if name == _REQUEST_ID_HEADER_KEY:
            if _VALID_REQUEST_ID.fullmatch(value):
                return value.decode("ascii")
            break
    return os.urandom(16).hex()


class RequestObserver:
    """ASGI wrapper: the request id, the security headers, the request metrics (when metrics is
    given), the access log, the body's time limit, and the verdict on responses that did not
    complete. Headers are appended to the response's raw list: neither is set anywhere else."""

    def __init__(self, app: ASGIApp, *, metrics: Metrics | None, body_timeout: float) -> None:
        self.app = app
        self.metrics = metrics
        self.body_timeout = body_timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return
        request_id = request_id_for(scope)
        token = REQUEST_ID.set(request_id)
        path = scope["path"]
        started = time.perf_counter()
        body_deadline = asyncio.get_running_loop().time() + self.body_timeout
        status = 500  # unless a response starts: the server answers 500 to an app that raised
        answering = False  # the response has started
        answered = False  # its last byte went out
        body_pending = True  # the request's body has not arrived whole yet
        gone = False  # the client disconnected before the response was complete

        async def receive_in_time() -> ReceiveMessage:
            nonlocal body_pending, gone
            if body_pending and not answering:
                try:
                    async with asyncio.timeout_at(body_deadline):
                        message = await receive()
                except TimeoutError:
                    raise BodyTimeout(
                        detail=f"The request body did not arrive whole within {self.body_timeout:g} s.",
                        headers={"Connection": "close"},
                    ) from None
            else:
                message = await receive()
            if message["type"] == "http.request":
                body_pending = message.get("more_body", False)
            elif message["type"] == "http.disconnect":
                body_pending = False
                if not answered:
                    gone = True
                    cast(dict[str, Any], scope)[_CLIENT_GONE] = True
            return message

        async def send_with_id(message: Message) -> None:
            nonlocal status, answering, answered
            if message["type"] == "http.response.start":
                status = message["status"]
                answering = True
                headers = list(message.get("headers", ()))
                headers.append((_REQUEST_ID_HEADER_KEY, request_id.encode()))
                headers.extend(security_headers(path))
                message["headers"] = headers
                await send(message)
                return
            await send(message)
            if message["type"] == "http.response.body" and not message.get("more_body", False):
                answered = True

        try:
            await self.app(scope, receive_in_time, send_with_id)
        except Exception:
            logger.error(
                "the response failed after %s: %s",
                "it started (the connection is closed before its end)" if answering else "nothing was sent",
                path,
                exc_info=True,
            )
            raise
        finally:
            seconds = time.perf_counter() - started
            method = scope["method"] if scope["method"] in METHODS else "OTHER"
            route = scope.get("path_template") or UNMATCHED_ROUTE
            if gone:
                status = CLIENT_CLOSED_REQUEST
                logger.info("the client disconnected before the response was complete: %s %s", method, path)
            elif not answered:
                status = RESPONSE_CUT
            if self.metrics is not None:
                self.metrics.observe_request(method, route, status, seconds)
            if access_logger.isEnabledFor(logging.INFO):
                duration_ms = round(seconds * 1000, 2)
                access_logger.info(
                    "%s %s %s %.1f ms",
                    method,
                    route,
                    status,
                    duration_ms,
                    extra={
                        "method": method,
                        "route": route,
                        "path": path,
                        "status": status,
                        "duration_ms": duration_ms,
                    },
                )
            REQUEST_ID.reset(token)

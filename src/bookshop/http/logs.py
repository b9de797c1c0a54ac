"""Logs as one JSON object per line (LOG_FORMAT=json, the default) or as text, with request ids.

Every record carries the id of the request it was written in, when there is one: the request
observer (http/observe.py) keeps it in a context variable for the whole request, and a filter on
the app's log handler copies it onto each record as it is emitted, in the request's own context
(the queue listener that writes the lines runs in another thread, where the variable is unset).

A JSON line holds `time` (UTC, milliseconds), `level`, `logger`, `message`, `request_id` when
inside a request, every field a call passed with `extra=` (the access log's method, route,
status, duration_ms; the slow-query log's query and duration_ms), and `exception` with the
traceback when one was logged.
"""

import copy
import logging
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, Literal

import msgspec
from litestar.logging import LoggingConfig
from litestar.logging.config import default_handlers

REQUEST_ID: ContextVar[str | None] = ContextVar("request_id", default=None)

# The attributes every LogRecord has; anything else on a record came from `extra=`.
_RECORD_ATTRIBUTES = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}

TEXT_FORMAT = "%(levelname)s - %(asctime)s - %(name)s - %(module)s - %(message)s"


class RequestIdFilter(logging.Filter):
    """Stamps the current request's id on a record (as `request_id`); never drops one."""

    def filter(self, record: logging.LogRecord) -> bool:
        if (request_id := REQUEST_ID.get()) is not None:
            record.request_id = request_id
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line."""

    _encoder = msgspec.json.Encoder(enc_hook=str)

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _RECORD_ATTRIBUTES and not key.startswith("_"):
                line[key] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            line["exception"] = record.exc_text
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        return self._encoder.encode(line).decode()


class TextFormatter(logging.Formatter):
    """Litestar's default text line, with ` [request <id>]` appended inside a request."""

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        request_id = getattr(record, "request_id", None)
        return text if request_id is None else f"{text} [request {request_id}]"


def process_handler(log_format: Literal["json", "text"]) -> logging.Handler:
    """The handler of a process without Litestar's logging set-up (`bookshop worker`): the same
    line format on stderr, written in place (a worker logs a few lines a job, not per request)."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter(TEXT_FORMAT))
    return handler


def logging_config(*, level: str, log_format: Literal["json", "text"]) -> LoggingConfig:
    """Litestar's logging set-up (a queue handler, lines written by a listener thread) with the
    chosen format, and the request id filter on the handler every logger writes through."""
    formatter = JsonFormatter if log_format == "json" else TextFormatter
    handlers = copy.deepcopy(default_handlers)
    handlers["queue_listener"]["filters"] = ["request_id"]
    return LoggingConfig(
        # Litestar formats with "standard": in the queue handler before Python 3.12, in the
        # console handler behind the listener from 3.12 on. Either way, this formatter.
        formatters={"standard": {"()": formatter, "fmt": TEXT_FORMAT}},
        filters={"request_id": {"()": RequestIdFilter}},
        handlers=handlers,
        root={"level": level, "handlers": ["queue_listener"]},
        log_exceptions="never",  # errors.py logs what deserves it, once
    )

"""Logs as one JSON object per line (LOG_FORMAT=json, the default) or as text, with request ids.

Every record carries the id of the request it was written in, when there is one: the request
observer (http/observe.py) keeps it in a context variable for the whole request, and a filter on
the app's log handler copies it onto each record as it is emitted, in the request's own context
(the thread that writes the lines is another, where the variable is unset).

The app's lines are formatted where they are logged and written to stderr by a thread of their
own (`LineWriter`), so a slow reader of stderr never stalls the event loop. On an event loop,
lines are handed to that thread in batches, every `BATCH_SECONDS` at most: a hand-off per line
(Litestar's queue listener) woke the thread for every access line, and the two threads' turns
at the GIL cost more CPU than the request itself (bench/README.md). A warning or worse hands
over at once, with every line before it; closing the handler (at exit, or when logging is
configured again) writes whatever is pending before it returns, waiting 5 s at most for a
stderr that takes nothing.

A JSON line holds `time` (UTC, milliseconds), `level`, `logger`, `message`, `request_id` when
inside a request, every field a call passed with `extra=` (the access log's method, route,
status, duration_ms; the slow-query log's query and duration_ms), and `exception` with the
traceback when one was logged.
"""

import asyncio
import logging
import queue
import sys
import threading
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, Literal, TextIO

import msgspec
from litestar.logging import LoggingConfig

REQUEST_ID: ContextVar[str | None] = ContextVar("request_id", default=None)

# The attributes every LogRecord has; anything else on a record came from `extra=`.
_RECORD_ATTRIBUTES = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}

TEXT_FORMAT = "%(levelname)s - %(asctime)s - %(name)s - %(module)s - %(message)s"
# How long a line logged on an event loop may wait to be handed to the writer thread.
BATCH_SECONDS = 0.05
# How long closing waits for the pending lines to be written: a stderr nobody reads any more
# must not hold the process at exit.
CLOSE_SECONDS = 5.0


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


class LineWriter(logging.Handler):
    """Formats each record in the thread that logs it, and writes the lines to stderr from a
    thread of its own: on an event loop, in batches (see the module's docstring), from any other
    thread at once."""

    def __init__(self, stream: TextIO | None = None, *, close_seconds: float = CLOSE_SECONDS) -> None:
        super().__init__()
        self._stream = stream or sys.stderr
        self._close_seconds = close_seconds
        # Formatted, not yet handed to the writer; guarded by self.lock, as the handover is.
        self._pending: list[str] = []
        self._handover: asyncio.TimerHandle | None = None
        self._handover_loop: asyncio.AbstractEventLoop | None = None
        self._chunks: queue.SimpleQueue[str | None] = queue.SimpleQueue()
        self._closed = False  # from then on, lines are written in place
        self._writer = threading.Thread(target=self._write, name="bookshop-log-writer", daemon=True)
        self._writer.start()

    def emit(self, record: logging.LogRecord) -> None:
        # Handler.handle holds self.lock around this call.
        try:
            line = self.format(record) + "\n"
        except Exception:  # noqa: BLE001 - logging's own convention: report, never raise
            self.handleError(record)
            return
        try:
            loop: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        self._pending.append(line)
        # A handover scheduled on another loop may never run (that loop may have ended).
        if loop is None or record.levelno >= logging.WARNING or self._handover_loop not in (None, loop):
            self._hand_over_locked()
        elif self._handover is None:
            self._handover = loop.call_later(BATCH_SECONDS, self.flush)
            self._handover_loop = loop

    def flush(self) -> None:
        """Hands what is pending to the writer thread (which writes it soon after)."""
        with self._locked():
            self._hand_over_locked()

    def close(self) -> None:
        """Writes what is pending, then stops the writer thread; gives up on a stderr that
        takes no more lines within `close_seconds`."""
        with self._locked():
            self._hand_over_locked()
            self._closed = True
            self._chunks.put(None)
        self._writer.join(self._close_seconds)
        super().close()

    def _locked(self) -> threading.RLock:
        assert self.lock is not None  # Handler.__init__ creates it
        return self.lock

    def _hand_over_locked(self) -> None:
        if self._handover is not None:
            self._handover.cancel()
            self._handover = self._handover_loop = None
        if self._pending:
            chunk = "".join(self._pending)
            self._pending = []
            if self._closed:  # logged after close (at exit): the writer may be gone
                self._write_chunk(chunk)
            else:
                self._chunks.put(chunk)

    def _write(self) -> None:
        while (chunk := self._chunks.get()) is not None:
            self._write_chunk(chunk)

    def _write_chunk(self, chunk: str) -> None:
        try:
            self._stream.write(chunk)
            self._stream.flush()
        except (OSError, ValueError):  # stderr closed or gone: nowhere left to report it
            pass


def process_handler(log_format: Literal["json", "text"]) -> logging.Handler:
    """The handler of a process without Litestar's logging set-up (`bookshop worker`): the same
    line format on stderr, written in place (a worker logs a few lines a job, not per request)."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter(TEXT_FORMAT))
    return handler


def logging_config(*, level: str, log_format: Literal["json", "text"]) -> LoggingConfig:
    """Litestar's logging set-up with the chosen format, the request id filter, and `LineWriter`
    as the handler every logger writes through."""
    formatter = JsonFormatter if log_format == "json" else TextFormatter
    return LoggingConfig(
        formatters={"standard": {"()": formatter, "fmt": TEXT_FORMAT}},
        filters={"request_id": {"()": RequestIdFilter}},
        # "queue_listener" is the handler Litestar's own logger is configured to write through.
        handlers={"queue_listener": {"()": LineWriter, "formatter": "standard", "filters": ["request_id"]}},
        root={"level": level, "handlers": ["queue_listener"]},
        log_exceptions="never",  # errors.py logs what deserves it, once
    )

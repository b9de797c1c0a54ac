"""The app's log lines (http/logs.py's LineWriter): every line written, in the order logged, by a
thread of its own, handed over in batches on an event loop; a warning at once; nothing pending
lost at close, nor when the server stops; a stderr nobody reads never stalls the loop. The
stream is a real pipe, and the server a real `bookshop serve`."""

import asyncio
import logging
import os
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from bookshop.db.urls import DatabaseUrls
from bookshop.http.logs import LineWriter
from tests.support.served import serve

WAIT_SECONDS = 10.0  # only a failure waits this long


class Pipe:
    """A pipe for the handler to write to, and a thread reading its lines as they arrive."""

    def __init__(self) -> None:
        read_fd, write_fd = os.pipe()
        self.stream = os.fdopen(write_fd, "w")
        self._reader = os.fdopen(read_fd, "r")
        self.lines: list[str] = []
        self._arrived = threading.Condition()
        self.draining = threading.Event()
        self.draining.set()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        self.draining.wait()
        for line in self._reader:
            with self._arrived:
                self.lines.append(line.rstrip("\n"))
                self._arrived.notify_all()
            self.draining.wait()

    def wait_for(self, count: int) -> list[str]:
        """Blocks (the thread that calls it, event loop included) until `count` lines arrived."""
        with self._arrived:
            self._arrived.wait_for(lambda: len(self.lines) >= count, timeout=WAIT_SECONDS)
            return list(self.lines)

    async def arrived(self, count: int) -> list[str]:
        """Waits without blocking the event loop until `count` lines arrived."""
        return await asyncio.to_thread(self.wait_for, count)

    def close(self) -> None:
        self.draining.set()
        self.stream.close()
        self._thread.join(WAIT_SECONDS)
        self._reader.close()


@pytest.fixture
def pipe() -> Iterator[Pipe]:
    pipe = Pipe()
    yield pipe
    pipe.close()


def logger_writing_to(handler: logging.Handler) -> logging.Logger:
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    logger = logging.getLogger(f"tests.logs.{uuid.uuid4().hex}")
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    logger.addHandler(handler)
    return logger


async def test_lines_on_an_event_loop_are_written_in_order(pipe: Pipe) -> None:
    handler = LineWriter(pipe.stream)
    log = logger_writing_to(handler)
    for n in range(300):
        log.info("line %d", n)
    lines = await pipe.arrived(300)
    assert lines == [f"INFO line {n}" for n in range(300)]
    handler.close()


async def test_a_warning_is_handed_over_at_once_with_every_line_before_it(pipe: Pipe) -> None:
    handler = LineWriter(pipe.stream)
    log = logger_writing_to(handler)
    log.info("first")
    log.info("second")
    log.warning("third")
    # The loop is blocked here, so the batch's timer cannot run: only the warning's handover can
    # have brought these lines out.
    assert pipe.wait_for(3) == ["INFO first", "INFO second", "WARNING third"]
    handler.close()


def test_a_line_logged_off_any_event_loop_is_handed_over_at_once(pipe: Pipe) -> None:
    handler = LineWriter(pipe.stream)
    logger_writing_to(handler).info("from a plain thread")
    assert pipe.wait_for(1) == ["INFO from a plain thread"]
    handler.close()


async def test_closing_writes_every_pending_line_before_it_returns(pipe: Pipe) -> None:
    handler = LineWriter(pipe.stream)
    log = logger_writing_to(handler)
    for n in range(50):
        log.info("pending %d", n)
    handler.close()  # without giving the loop a turn: the lines are still pending here
    pipe.stream.flush()
    assert pipe.wait_for(50) == [f"INFO pending {n}" for n in range(50)]


def test_lines_pending_on_a_loop_that_ended_go_out_with_the_next_loops_first(pipe: Pipe) -> None:
    handler = LineWriter(pipe.stream)
    log = logger_writing_to(handler)

    async def log_and_leave() -> None:
        log.info("on the first loop")

    async def log_and_wait() -> list[str]:
        log.info("on the second loop")
        return await pipe.arrived(2)

    asyncio.run(log_and_leave())  # ends at once, its batch's timer never runs
    assert asyncio.run(log_and_wait()) == ["INFO on the first loop", "INFO on the second loop"]
    handler.close()


async def test_a_stderr_nobody_reads_does_not_stall_the_event_loop(pipe: Pipe) -> None:
    pipe.draining.clear()  # the reader stops: the pipe fills (64 KiB on Linux) and writes block
    # Were the lines written on the loop, it would block for good: this lets the reader go on
    # after a while, so the test fails instead of hanging.
    rescue = threading.Timer(WAIT_SECONDS, pipe.draining.set)
    rescue.start()
    handler = LineWriter(pipe.stream)
    log = logger_writing_to(handler)
    line = "x" * 1000
    for n in range(200):  # 200 kB: far more than the pipe holds
        log.warning("%d %s", n, line)  # each handed over at once, to a writer that is stuck
        await asyncio.sleep(0)  # the loop keeps turning
    ticks = 0
    while ticks < 100:
        await asyncio.sleep(0)
        ticks += 1
    assert not pipe.draining.is_set(), "the loop was blocked until the rescue let the reader go on"
    assert len(pipe.lines) < 200
    rescue.cancel()
    pipe.draining.set()
    lines = await pipe.arrived(200)
    assert lines == [f"WARNING {n} {line}" for n in range(200)]
    handler.close()


def test_a_server_stopped_right_after_a_request_has_written_its_access_line(
    database_urls: DatabaseUrls, tmp_path: Path
) -> None:
    with serve(database_urls, tmp_path, RATE_LIMIT_PER_MINUTE="0") as served:
        answer = httpx.get(f"{served.base}/health", headers={"X-Request-ID": "the-last-one"})
        assert answer.status_code == 200
    # serve() sent SIGTERM at once and waited for the server to exit: the batch's timer or the
    # handler's close at exit, one of them wrote the line.
    [line] = [line for line in served.log_lines() if line.get("request_id") == "the-last-one"]
    assert (line["logger"], line["route"], line["status"]) == ("bookshop.access", "/health", 200)


def test_closing_gives_up_on_a_stderr_nobody_reads(pipe: Pipe) -> None:
    pipe.draining.clear()
    handler = LineWriter(pipe.stream, close_seconds=0.2)
    log = logger_writing_to(handler)
    for n in range(200):  # 200 kB: the writer is stuck on a full pipe
        log.info("%d %s", n, "x" * 1000)
    closing = threading.Thread(target=handler.close)
    closing.start()
    closing.join(WAIT_SECONDS)
    assert not closing.is_alive(), "close waited for a stderr that takes nothing"

"""`bookshop serve` (granian) on a test's own database, for what only a real server shows: how
a connection ends, what a client that hangs up or stalls gets, what the server logs."""

import json
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from prometheus_client.multiprocess import MultiProcessCollector

from bookshop.db.urls import DatabaseUrls
from tests.support.accounts import TEST_PEPPER
from tests.support.cli import BOOKSHOP
from tests.support.waiting import DEADLINE

READY_SECONDS = 60.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class Served:
    """A running `bookshop serve`: its address, and the JSON lines it logged so far."""

    def __init__(self, port: int, log: Path, pid: int) -> None:
        self.pid = pid  # the main process: granian's, which runs the workers
        self.host = "127.0.0.1"
        self.port = port
        self.base = f"http://{self.host}:{port}"
        self.log = log

    def log_lines(self) -> list[dict[str, Any]]:
        """The app's JSON log lines (granian's own lines are text, and left out)."""
        lines = self.log.read_text(errors="replace").splitlines()
        return [json.loads(line) for line in lines if line.startswith("{")]

    def wait_for_log(self, found: Callable[[dict[str, Any]], bool], what: str) -> list[dict[str, Any]]:
        """The log lines once one of them is `found` (the app writes them from a thread, so a
        line can follow its response by a moment); fails naming `what` after DEADLINE."""
        deadline = time.monotonic() + DEADLINE
        while True:
            lines = self.log_lines()
            if any(found(line) for line in lines):
                return lines
            assert time.monotonic() < deadline, f"{what}: not logged within {DEADLINE:g} s"
            time.sleep(0.02)

    def metric(self, name: str, **labels: str) -> float:
        """One sample of GET /metrics (0 when the series does not exist yet)."""
        text = httpx.get(f"{self.base}/metrics", timeout=10).text
        wanted = ",".join(f'{key}="{value}"' for key, value in sorted(labels.items()))
        for line in text.splitlines():
            series, _, value = line.rpartition(" ")
            metric, _, rest = series.partition("{")
            if metric == name and ",".join(sorted(rest.rstrip("}").split(","))) == wanted:
                return float(value)
        return 0.0

    def worker_pids(self) -> set[int]:
        """granian's worker processes: the main process's children started by multiprocessing's
        spawn (its resource tracker, also a child, is not a worker)."""
        pids = set()
        for children in Path(f"/proc/{self.pid}/task").glob("*/children"):
            for child in children.read_text().split():
                try:
                    command = Path(f"/proc/{child}/cmdline").read_bytes()
                except FileNotFoundError:  # gone since the list was read
                    continue
                if b"spawn_main" in command:
                    pids.add(int(child))
        return pids

    def metrics_dir(self) -> Path:
        """The folder the workers write their metrics to (serve hands it to them in their
        environment)."""
        for pid in self.worker_pids():
            for entry in Path(f"/proc/{pid}/environ").read_bytes().split(b"\0"):
                name, _, value = entry.decode().partition("=")
                if name == "PROMETHEUS_MULTIPROC_DIR":
                    return Path(value)
        raise AssertionError("no worker has PROMETHEUS_MULTIPROC_DIR")

    def pool_max_size_written_by(self, pid: int) -> float:
        """The pool size one worker wrote to its own file in the metrics folder (named by its
        pid), 0 before it has: a worker writes it once its pool is open (http/metrics.py)."""
        path = self.metrics_dir() / f"gauge_livesum_{pid}.db"
        if not path.exists():
            return 0.0
        for metric in MultiProcessCollector.merge([str(path)]):
            for sample in metric.samples:
                if sample.name == "bookshop_db_pool_max_size":
                    return float(sample.value)
        return 0.0

    def wait_for_workers(self, count: int) -> set[int]:
        """The worker pids once `count` workers serve (each has opened its pool): /ready
        answering tells of one worker only, and the others may still be starting."""
        deadline = time.monotonic() + READY_SECONDS
        while True:
            pids = self.worker_pids()
            if len(pids) == count and all(self.pool_max_size_written_by(pid) > 0 for pid in pids):
                return pids
            assert time.monotonic() < deadline, f"{count} workers not serving within {READY_SECONDS:g} s"
            time.sleep(0.05)

    def connect(self) -> socket.socket:
        return socket.create_connection((self.host, self.port), timeout=10)


def head_of(
    path: str,
    *,
    content_length: int,
    headers: dict[str, str] | None = None,
    method: str = "POST",
    content_type: str = "application/json",
) -> bytes:
    """A request's head announcing a body of content_length bytes, for a raw socket."""
    lines = [f"{method} {path} HTTP/1.1", "Host: test", f"Content-Type: {content_type}"]
    lines += [f"Content-Length: {content_length}", *(f"{name}: {value}" for name, value in (headers or {}).items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def read_until_closed(connection: socket.socket, *, within: float) -> bytes:
    """Everything the server sends until it closes the connection; fails after `within` s."""
    deadline = time.monotonic() + within
    received = b""
    while True:
        remaining = deadline - time.monotonic()
        assert remaining > 0, f"the server kept the connection open past {within:g} s; got {received[:300]!r}"
        connection.settimeout(remaining)
        try:
            chunk = connection.recv(65536)
        except TimeoutError:
            continue
        if not chunk:
            return received
        received += chunk


@contextmanager
def serve(database_urls: DatabaseUrls, cwd: Path, **settings: str) -> Iterator[Served]:
    """`bookshop serve` on the database, with these settings (environment variables) changed,
    its output in cwd/server.log; returns once GET /ready answers 200."""
    env = {
        **os.environ,
        "DATABASE_URL": database_urls.app,
        "MIGRATIONS_DATABASE_URL": database_urls.owner,
        "API_KEY_PEPPER": TEST_PEPPER,
        "LOG_FORMAT": "json",
        **settings,
    }
    port = free_port()
    log = cwd / "server.log"
    with log.open("wb") as output:
        server = subprocess.Popen(
            [BOOKSHOP, "serve", "--port", str(port)],
            env=env,
            cwd=cwd,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    served = Served(port, log, server.pid)
    try:
        deadline = time.monotonic() + READY_SECONDS
        while True:
            try:
                if httpx.get(f"{served.base}/ready", timeout=5).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert server.poll() is None, log.read_text()
            assert time.monotonic() < deadline, f"not ready within {READY_SECONDS:g} s:\n{log.read_text()}"
            time.sleep(0.1)
        yield served
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)

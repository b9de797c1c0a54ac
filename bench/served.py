"""`bookshop serve` as the HTTP benchmarks run it: on loopback, in its own process group."""

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
from collections.abc import Mapping
from pathlib import Path

import httpx
from recording import PROJECT_ROOT, display

from bookshop.db.urls import DatabaseUrls

READY_TIMEOUT_SECONDS = 60.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def start_server(
    urls: DatabaseUrls, port: int, *, env: dict[str, str], log: Path, settings: Mapping[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """`bookshop serve` on loopback against the benchmark's data, in its own process group,
    its output in `log`: no rate limit and no access lines, unless `settings` says otherwise."""
    env = {**env}
    env.update(
        DATABASE_URL=urls.app,
        MIGRATIONS_DATABASE_URL=urls.owner,
        RATE_LIMIT_PER_MINUTE="0",
        LOG_LEVEL="WARNING",
    )
    env.update(settings or {})
    output = log.open("wb")
    try:
        return subprocess.Popen(
            ["uv", "run", "bookshop", "serve", "--port", str(port), "--workers", "1"],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    finally:
        output.close()


def stop_server(server: subprocess.Popen[bytes]) -> None:
    """Stops the server's process group (uv, the CLI, granian and its worker) and waits for it."""
    if server.poll() is None:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=10)
    with contextlib.suppress(ProcessLookupError):  # a worker that outlived the main process
        os.killpg(server.pid, signal.SIGKILL)


async def wait_ready(client: httpx.AsyncClient, server: subprocess.Popen[bytes], *, log: Path) -> None:
    """Polls GET /ready until it answers 200, for READY_TIMEOUT_SECONDS at most."""
    try:
        async with asyncio.timeout(READY_TIMEOUT_SECONDS):
            while True:
                if server.poll() is not None:
                    raise RuntimeError(f"bookshop serve exited with {server.returncode}; see {display(log)}")
                with contextlib.suppress(httpx.TransportError):
                    if (await client.get("/ready")).status_code == 200:
                        return
                await asyncio.sleep(0.1)
    except TimeoutError:
        raise RuntimeError(
            f"bookshop serve was not ready within {READY_TIMEOUT_SECONDS:g} s; see {display(log)}"
        ) from None

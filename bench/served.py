"""`bookshop serve` as the HTTP benchmarks run it: on loopback, in its own process group."""

import asyncio
import contextlib
import itertools
import os
import signal
import socket
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import httpx
from measure import Metrics, metrics
from recording import PROJECT_ROOT, display

from bookshop.db.urls import DatabaseUrls

READY_TIMEOUT_SECONDS = 60.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def start_server(
    urls: DatabaseUrls,
    port: int,
    *,
    env: dict[str, str],
    log: Path,
    settings: Mapping[str, str] | None = None,
    workers: int = 1,
) -> subprocess.Popen[bytes]:
    """`bookshop serve` on loopback against the benchmark's data, in its own process group,
    its output in `log`: one worker, no rate limit and no access lines, unless told otherwise."""
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
            ["uv", "run", "bookshop", "serve", "--port", str(port), "--workers", str(workers)],
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


def wait_ready_on(port: int, server: subprocess.Popen[bytes], *, log: Path) -> None:
    """wait_ready with a client of its own, for a benchmark driven by another tool (wrk)."""

    async def waiting() -> None:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
            await wait_ready(client, server, log=log)

    asyncio.run(waiting())


async def drive(
    port: int,
    server: subprocess.Popen[bytes],
    *,
    log: Path,
    paths: Sequence[str],
    clients: int,
    seconds: float,
    warmup_seconds: float,
    headers: Mapping[str, str] | None = None,
) -> Metrics:
    """Once the server is ready: `clients` kept-alive clients, one request at a time each, GET
    the paths in turn for the warm-up and then `seconds`, timed; every answer must be a 200."""
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(
        base_url=f"http://127.0.0.1:{port}", limits=limits, timeout=30, headers=dict(headers or {})
    ) as client:
        await wait_ready(client, server, log=log)
        start = time.perf_counter() + warmup_seconds
        end = start + seconds
        latencies: list[float] = []
        turns = itertools.cycle(paths)

        async def one_client() -> None:
            while (began := time.perf_counter()) < end:
                path = next(turns)
                response = await client.get(path)
                if response.status_code != 200:
                    raise RuntimeError(f"GET {path} answered {response.status_code}: {response.text[:200]}")
                if began >= start:
                    latencies.append(time.perf_counter() - began)

        async with asyncio.TaskGroup() as group:
            for _ in range(clients):
                group.create_task(one_client())
    return metrics(latencies, seconds)

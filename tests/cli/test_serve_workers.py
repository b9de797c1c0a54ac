"""`bookshop serve` outlives its workers: a worker killed with SIGKILL is replaced by granian,
with two workers the other one answers meanwhile, and with one the API is back by itself."""

import asyncio
import os
import re
import signal
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from bookshop.db.urls import DatabaseUrls
from tests.support.served import Served, serve
from tests.support.waiting import wait_until

CLIENTS = 4


@dataclass(frozen=True)
class Outcome:
    started: float
    ended: float
    failure: str | None  # None: a 200


async def keep_asking(served: Served, outcomes: list[Outcome], stop: asyncio.Event) -> None:
    """GET /books, one request at a time, each on a new connection (so a request is never sent
    on a connection the killed worker held: every failure is a request the dying worker took)."""
    limits = httpx.Limits(max_keepalive_connections=0)
    async with httpx.AsyncClient(base_url=served.base, limits=limits, timeout=10) as client:
        while not stop.is_set():
            started = time.monotonic()
            try:
                response = await client.get("/books?limit=5")
                failure = None if response.status_code == 200 else f"status {response.status_code}"
            except httpx.TransportError as error:
                failure = type(error).__name__
            outcomes.append(Outcome(started, time.monotonic(), failure))


def running(pid: int) -> bool:
    """Whether the process is not yet reaped. A zombie is not enough: its main thread turns
    zombie while the worker's other threads still hold its SO_REUSEPORT listening socket, and
    connections the kernel queues there meanwhile are reset when the last thread exits. A
    thread group is reaped only once every thread is gone, and granian reaps at once."""
    return Path(f"/proc/{pid}").exists()


def worker_number(served: Served, pid: int) -> str:
    """granian's number for a worker, from its "Spawning worker-N with PID: P" line."""
    (number,) = re.findall(rf"Spawning worker-(\d+) with PID: {pid}\b", served.log.read_text())
    return str(number)


async def workers_of(served: Served, count: int) -> set[int]:
    async def check() -> set[int] | None:
        pids = served.worker_pids()
        return pids if len(pids) == count else None

    return await wait_until(check, f"{count} granian worker(s) running")


async def test_with_two_workers_a_killed_one_costs_only_its_requests(
    database_urls: DatabaseUrls, tmp_path: Path
) -> None:
    with serve(database_urls, tmp_path, WORKERS="2", RATE_LIMIT_PER_MINUTE="0") as served:
        before = served.wait_for_workers(2)
        outcomes: list[Outcome] = []
        stop = asyncio.Event()
        clients = [asyncio.create_task(keep_asking(served, outcomes, stop)) for _ in range(CLIENTS)]
        await wait_until(lambda: asyncio.sleep(0, len(outcomes) >= 40), "requests answered before the kill")
        victim = min(before)
        killed_at = time.monotonic()
        os.kill(victim, signal.SIGKILL)
        # Until the victim's last thread is gone its listening socket stays open, and the kernel
        # still queues connections there, to be reset when it closes: a client whose request
        # failed so may have its next one fail too. Once it is reaped, nothing may fail.
        await wait_until(lambda: asyncio.sleep(0, not running(victim)), "the killed worker dead")
        dead_at = time.monotonic()

        async def replaced() -> set[int] | None:
            pids = served.worker_pids()
            return pids if len(pids) == 2 and victim not in pids else None

        after = await wait_until(replaced, "a new worker in place of the killed one")
        started = f"Started worker-{worker_number(served, victim)}"
        await wait_until(lambda: asyncio.sleep(0, served.log.read_text().count(started) == 2), "the new worker started")
        answered_meanwhile = sum(o.failure is None and o.started > dead_at for o in outcomes)
        # ...and the API goes on answering once it is there.
        settled = len(outcomes)
        await wait_until(lambda: asyncio.sleep(0, len(outcomes) >= settled + 40), "requests after the respawn")
        stop.set()
        await asyncio.gather(*clients)

    assert len(after - before) == 1  # one new worker...
    assert before - {victim} <= after  # ...and the other one kept
    failed = [o for o in outcomes if o.failure]
    assert all(o.ended > killed_at and o.started < dead_at for o in failed)  # only while the victim was dying
    assert answered_meanwhile > 0  # the other worker answered while the new one started


async def test_with_one_worker_the_api_is_back_by_itself(database_urls: DatabaseUrls, tmp_path: Path) -> None:
    with serve(database_urls, tmp_path, WORKERS="1", RATE_LIMIT_PER_MINUTE="0") as served:
        (first,) = await workers_of(served, 1)
        os.kill(first, signal.SIGKILL)

        async def answering_again() -> bool:
            try:
                async with httpx.AsyncClient(base_url=served.base, timeout=2) as client:
                    return (await client.get("/books?limit=5")).status_code == 200
            except httpx.TransportError:
                return False

        await wait_until(lambda: asyncio.sleep(0, not running(first)), "the killed worker dead")
        await wait_until(answering_again, "the API answering again after its only worker was killed")
        (second,) = await workers_of(served, 1)
        log = served.log.read_text()
    assert second != first
    assert "Unexpected exit from worker-1" in log
    assert "Respawning worker-1" in log

"""A worker in a process of its own, for the tests that kill or stop one.

    DATABASE_URL=<application role URL> python -m tests.jobs.slow_worker [LEASE_SECONDS]

It works the default queue one job at a time; a 'sleep' job sleeps payload["seconds"]; a
'work_past_stop' job runs until the worker is told to stop, and payload["seconds"] after that.
SIGTERM and SIGINT stop it as they stop `bookshop worker`. The lease comes from the first argument, else
LEASE_SECONDS, else 30 seconds.
"""

import asyncio
import logging
import os
import signal
import sys
from typing import Any

from bookshop.db.pool import Connection
from bookshop.jobs.worker import Handler, WorkerOptions, run_worker
from bookshop.settings import Settings


async def sleep(conn: Connection, payload: dict[str, Any]) -> None:
    await asyncio.sleep(float(payload["seconds"]))


def handlers(stop: asyncio.Event) -> dict[str, Handler]:
    async def work_past_stop(conn: Connection, payload: dict[str, Any]) -> None:
        # In hand when the stop comes, however long the signal takes to arrive.
        await stop.wait()
        await asyncio.sleep(float(payload["seconds"]))

    return {"sleep": sleep, "work_past_stop": work_past_stop}


async def main(lease_seconds: float) -> None:
    settings = Settings.from_env()
    assert settings.database_url is not None, "DATABASE_URL must name the test database"
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for stop_signal in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(stop_signal, stop.set)
    options = WorkerOptions(concurrency=1, lease_seconds=lease_seconds, poll_interval=0.2)
    await run_worker(settings, dsn=settings.database_url, handlers=handlers(stop), options=options, stop=stop)


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    lease = float(sys.argv[1]) if len(sys.argv) > 1 else float(os.environ.get("LEASE_SECONDS", "30"))
    asyncio.run(main(lease))

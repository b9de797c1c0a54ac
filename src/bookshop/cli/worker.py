"""`bookshop worker`: works the job queue until SIGTERM or Ctrl-C (jobs/worker.py does the work)."""

import argparse
import asyncio
import logging
import signal

from bookshop.cli.common import Commands, positive_float, positive_int
from bookshop.db.configured import resolve_database_urls
from bookshop.http.logs import process_handler
from bookshop.jobs.worker import WorkerOptions, run_worker
from bookshop.settings import Settings


def register(commands: Commands) -> None:
    p = commands.add_parser("worker", help="run jobs from the queue until SIGTERM (then finish those in hand)")
    p.add_argument("--concurrency", type=positive_int, default=8, help="jobs claimed and run at once (default 8)")
    p.add_argument("--queue", default="default", help="the queue to work (default: default)")
    p.add_argument(
        "--poll-interval", type=positive_float, default=5.0, help="seconds between polls when no NOTIFY comes (5)"
    )
    p.add_argument(
        "--visibility-timeout",
        type=positive_float,
        default=300.0,
        help="seconds a claim holds: a job whose worker died is claimed again after it (300)",
    )
    p.add_argument("--backoff", type=positive_float, default=2.0, help="first retry delay in seconds, doubling (2)")
    p.set_defaults(handler=worker)


def worker(settings: Settings, args: argparse.Namespace) -> int:
    """Works the job queue until SIGTERM or Ctrl-C, then finishes the jobs in hand and exits."""
    from bookshop.jobs.handlers import HANDLERS

    logging.basicConfig(level=settings.log_level, handlers=[process_handler(settings.log_format)])
    options = WorkerOptions(
        queue=args.queue,
        concurrency=args.concurrency,
        poll_interval=args.poll_interval,
        lease_seconds=args.visibility_timeout,
        backoff_seconds=args.backoff,
    )
    dsn = resolve_database_urls(settings).app

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for stop_signal in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(stop_signal, stop.set)
        await run_worker(settings, dsn=dsn, handlers=HANDLERS, options=options, stop=stop)

    asyncio.run(main())
    return 0

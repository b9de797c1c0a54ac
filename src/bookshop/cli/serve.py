"""`bookshop serve`: the HTTP API under granian; on the embedded server, migrated and seeded first."""

import argparse
import multiprocessing
import os
import shutil
import tempfile
from pathlib import Path

import msgspec

from bookshop import demo
from bookshop.bookings import seed as venue_seed
from bookshop.catalog import seed as catalog_seed
from bookshop.cli.common import Commands, console, run_with_connection
from bookshop.db import migrations
from bookshop.db.configured import resolve_database_urls
from bookshop.http.metrics import MULTIPROCESS_DIR
from bookshop.settings import Settings

DEMO_CATALOG = catalog_seed.plan(books=400, users=20)
DEMO_VENUES = 300


def register(commands: Commands) -> None:
    p = commands.add_parser("serve", help="serve the HTTP API (embedded PostgreSQL when DATABASE_URL is unset)")
    p.add_argument("--host", help="address to listen on (default: HOST or 127.0.0.1)")
    p.add_argument("--port", type=int, help="port (default: PORT or 8000)")
    p.add_argument("--workers", type=int, help="worker processes (default: WORKERS or 1)")
    p.set_defaults(handler=serve)


def serve(settings: Settings, args: argparse.Namespace) -> int:
    from granian import Granian
    from granian.constants import Interfaces, Loops

    settings = msgspec.structs.replace(
        settings,
        host=args.host or settings.host,
        port=args.port or settings.port,
        workers=args.workers or settings.workers,
    )
    urls = resolve_database_urls(settings)
    embedded_db = not settings.database_url
    if embedded_db:
        # The development default: bring the schema up to date and seed demo data once.
        applied = migrations.apply(urls.owner)
        if applied:
            console.print(f"applied {len(applied)} migration(s): {', '.join(applied)}")
        seeded = run_with_connection(
            settings, urls.app, lambda conn: demo.seed_if_empty(conn, pepper=settings.api_key_pepper)
        )
        if seeded:
            # A small generated catalog and venues, so the first `curl /books` or
            # `curl '/venues/nearby?lat=51.5&lon=-0.12'` has something to show.
            books = run_with_connection(
                settings, urls.owner, lambda conn: catalog_seed.generate(conn, catalog=DEMO_CATALOG)
            )
            venues = run_with_connection(
                settings, urls.owner, lambda conn: venue_seed.generate(conn, venues=DEMO_VENUES)
            )
            console.print(
                f"seeded the demo data set: {len(seeded)} demo API keys, {books.books} books by {books.authors}"
                f" authors with {books.reviews} reviews, {venues.venues} venues with {venues.bookings} bookings"
            )
    base = f"http://{settings.host}:{settings.port}"
    console.print(f"[bold]bookshop[/bold] serving on {base} with {settings.workers} worker(s)")
    console.print(f"  API docs      {base}/schema   (OpenAPI JSON: {base}/schema/openapi.json)")
    if embedded_db:
        console.print(f"  database      embedded PostgreSQL in {Path(settings.embedded_pgdata).resolve()}")
        console.print(f"  demo API keys {demo.KEYS_FILE.resolve()}")
    # Workers are separate processes that build the app from the environment. They serve as the
    # application role and never migrate, so the owner's URL is not handed to them.
    os.environ["DATABASE_URL"] = urls.app
    os.environ["LOG_LEVEL"] = settings.log_level
    # The workers' metrics go to files in one folder, and a scrape sums them (http/metrics.py).
    # Fresh each start, as prometheus_client requires; a worker reads it at import, so workers
    # are spawned (a new interpreter each), not forked from this process, which has long
    # imported prometheus_client and holds the migration's and the seed's leftovers.
    metrics_dir = tempfile.mkdtemp(prefix="bookshop-metrics-") if settings.metrics_enabled else None
    if metrics_dir:
        os.environ[MULTIPROCESS_DIR] = metrics_dir
    multiprocessing.set_start_method("spawn", force=True)
    try:
        Granian(
            "bookshop.app:create_app",
            factory=True,
            interface=Interfaces.ASGI,
            # uvloop, named so that no other loop is picked up silently: asyncpg's transport and
            # the pool's timers cost about a quarter less on it than on asyncio's (bench/README.md).
            loop=Loops.uvloop,
            address=settings.host,
            port=settings.port,
            workers=settings.workers,
            log_level=settings.log_level.lower(),  # type: ignore[arg-type]
            # A worker that dies (killed, out of memory) is replaced at once; what it held is
            # lost: its in-flight requests and the connections queued on its own socket (each
            # worker listens on one, docs/operations.md). One that dies again within 5.5 s of its
            # respawn is a crash loop: granian then exits 1, for the supervisor to see.
            respawn_failed_workers=True,
        ).serve()
    finally:
        if metrics_dir:
            shutil.rmtree(metrics_dir, ignore_errors=True)
    return 0

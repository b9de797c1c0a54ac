"""What the commands share: the console, argument types, the owner's URL, and work on one connection."""

import argparse
import asyncio
from collections.abc import Callable, Coroutine
from typing import Any, TypeAlias, TypeVar

import asyncpg
import msgspec
from rich.console import Console

from bookshop.db.configured import resolve_database_urls
from bookshop.db.pool import connect, limited_transaction, transaction_limits
from bookshop.settings import Settings

console = Console(stderr=True, soft_wrap=True)

# What each command module's register() adds its parser to; argparse's class is generic only in
# the type stubs, hence the quotes.
Commands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"
Handler: TypeAlias = Callable[[Settings, argparse.Namespace], int]

T = TypeVar("T")


def run_with_connection(settings: Settings, dsn: str, work: Callable[[Any], Coroutine[Any, Any, T]]) -> T:
    """Runs `work(conn)` on one connection set up like the pool's. Behind a transaction pooler,
    all of it in one transaction that sets the settings' timeouts for itself (a session would
    not keep them); the transactions `work` opens are then savepoints of it."""
    limits = transaction_limits(settings)

    async def main() -> T:
        conn = await connect(settings, dsn=dsn)
        try:
            if limits is None:
                return await work(conn)
            async with limited_transaction(conn, limits):
                return await work(conn)
        finally:
            await conn.close()

    return asyncio.run(main())


def without_time_limits(settings: Settings) -> Settings:
    """The settings for bulk work (seeding, importing): a few long statements in one transaction,
    which neither the server's statement timeout nor asyncpg's command timeout may cut short."""
    return msgspec.structs.replace(settings, statement_timeout_ms=0, command_timeout=24 * 3600.0)


def report_missing_schema(error: asyncpg.UndefinedTableError) -> int:
    """Says what a missing table most likely means on a fresh database; returns the exit status."""
    console.print(f"[red]{error}[/red]: the schema is missing; run `bookshop migrate apply` first")
    return 1


def owner_url(settings: Settings) -> str:
    """The URL migrations run with, warning when it falls back to the application role's."""
    if settings.database_url and not settings.migrations_database_url:
        console.print(
            "[yellow]warning:[/yellow] MIGRATIONS_DATABASE_URL is unset: using DATABASE_URL, whose role should own"
            " nothing; set MIGRATIONS_DATABASE_URL to the owner role"
        )
    return resolve_database_urls(settings).owner


def count_argument(value: str) -> int:
    """A non-negative whole number; 1_000_000 reads as a million."""
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {value!r}") from None
    if number < 0:
        raise argparse.ArgumentTypeError(f"must not be negative: {value}")
    return number


def positive_int(value: str) -> int:
    number = count_argument(value)
    if number == 0:
        raise argparse.ArgumentTypeError("must be at least 1")
    return number


def positive_float(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {value!r}") from None
    if not number > 0:
        raise argparse.ArgumentTypeError(f"must be above 0: {value}")
    return number

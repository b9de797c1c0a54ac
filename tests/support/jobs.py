"""Jobs put on the queue as the service puts them, and set to an outcome without a worker."""

from typing import Any

import asyncpg

from bookshop.jobs import service


async def enqueue(conn: asyncpg.Connection, kind: str, payloads: list[dict[str, Any]], **options: Any) -> list[int]:
    """Queues jobs in one committed transaction, as the service does; their ids in order."""
    async with conn.transaction():
        return [await service.enqueue(conn, kind=kind, payload=payload, **options) for payload in payloads]


def numbered(count: int) -> list[dict[str, int]]:
    """Payloads that tell jobs apart: {"n": 0}, {"n": 1}, ..."""
    return [{"n": n} for n in range(count)]


async def set_failed(conn: asyncpg.Connection, *job_ids: int) -> None:
    await conn.execute(
        "UPDATE jobs SET status = 'failed', attempts = max_attempts, last_error = 'x' WHERE id = ANY($1)", job_ids
    )


async def set_done(conn: asyncpg.Connection, *job_ids: int) -> None:
    await conn.execute("UPDATE jobs SET status = 'done', attempts = 1 WHERE id = ANY($1)", job_ids)

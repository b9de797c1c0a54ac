"""The audit log's operations over sql/ops/events.sql."""

from datetime import datetime
from typing import Any

from bookshop.db.pool import Connection
from bookshop.db.queries import queries
from bookshop.ops.schemas import Event

q = queries.ops


async def record_event(conn: Connection, *, actor: str, kind: str, subject: str, payload: dict[str, Any]) -> None:
    """Appends an event in the caller's transaction: it lands with the change it records."""
    await q.record_event(conn, actor=actor, kind=kind, subject=subject, payload=payload)


async def list_events(
    conn: Connection, *, kind: str | None, since: datetime, until: datetime, after: int | None, limit: int
) -> list[Event]:
    rows = q.list_events(conn, kind=kind, since=since, until=until, after_id=after, limit=limit)
    return [Event(**row) async for row in rows]

"""HTTP routes of operations, for admins: the audit log and the diagnostics."""

from datetime import datetime, timedelta
from typing import Annotated

from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.params import QueryParameter

from bookshop.http.dependencies import Admin, Db
from bookshop.http.pagination import Keyset, KeysetPage, KeysetParams
from bookshop.http.text import NO_NUL
from bookshop.http.windows import window_until
from bookshop.ops import diagnostics, service
from bookshop.ops.schemas import Diagnostics, Event

DEFAULT_WINDOW = timedelta(days=7)
EVENTS = Keyset("events", key=lambda event: event.id, key_type=int, default_limit=50)


class AdminEventController(Controller):
    path = "/admin/events"
    tags = ["admin"]

    @get(
        "/",
        dependencies=EVENTS.dependencies,
        summary="The audit log in a time window, newest first, by keyset (admin).",
        description="since defaults to 7 days before until, which defaults to now: a window always bounds the "
        "scan, which the BRIN index on occurred_at narrows to the table blocks of that window.",
    )
    async def list_events(
        self,
        db: Db,
        admin: Admin,
        keyset: NamedDependency[KeysetParams[int]],
        kind: Annotated[
            str | None, QueryParameter(max_length=64, pattern=NO_NUL, description="e.g. order_placed")
        ] = None,
        since: Annotated[datetime | None, QueryParameter(description="From (inclusive), ISO 8601.")] = None,
        until: Annotated[datetime | None, QueryParameter(description="To (exclusive), ISO 8601.")] = None,
    ) -> KeysetPage[Event]:
        since, until = window_until(until, since, length=DEFAULT_WINDOW)
        async with db.connection() as conn:
            events = await service.list_events(
                conn, kind=kind, since=since, until=until, after=keyset.after, limit=keyset.limit
            )
        return keyset.page(events)


class AdminDiagnosticsController(Controller):
    path = "/admin/diagnostics"
    tags = ["admin"]

    @get(
        "/",
        summary="The database's health: indexes, bloat, slow statements, sessions, migrations (admin).",
        description="Foreign keys without an index, duplicate or redundant indexes, unused indexes, estimated table "
        "and index bloat, the cache hit ratio, the slowest statements from pg_stat_statements, sessions running or "
        "idle in a transaction longer than threshold_seconds, and pending migrations. `problems` lists what needs "
        "action (empty when healthy); `notes` says what could not be checked and why. The same report as "
        "`bookshop doctor`.",
    )
    async def get_diagnostics(
        self,
        db: Db,
        admin: Admin,
        threshold_seconds: Annotated[
            float, QueryParameter(gt=0, le=86400, description="Sessions running or idle in a transaction longer.")
        ] = diagnostics.DEFAULT_THRESHOLD_SECONDS,
        limit: Annotated[
            int, QueryParameter(ge=1, le=100, description="Rows of slow statements and of each bloat list.")
        ] = diagnostics.DEFAULT_LIMIT,
        order_by: Annotated[
            diagnostics.StatementOrder, QueryParameter(description="Slowest statements by mean or total time.")
        ] = "mean",
    ) -> Diagnostics:
        async with db.connection() as conn:
            return await diagnostics.collect(conn, threshold_seconds=threshold_seconds, limit=limit, order_by=order_by)

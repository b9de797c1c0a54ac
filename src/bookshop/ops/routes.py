"""HTTP routes of operations, for admins: the audit log and the diagnostics."""

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from litestar import Controller, Request, get
from litestar.params import QueryParameter

from bookshop.http.auth import ensure_admin
from bookshop.http.dependencies import CurrentCaller, Db
from bookshop.http.pagination import After, Limit, next_cursor, read_cursor
from bookshop.http.windows import check_window
from bookshop.ops import diagnostics, service
from bookshop.ops.schemas import Diagnostics, EventPage

DEFAULT_WINDOW = timedelta(days=7)


class AdminEventController(Controller):
    path = "/admin/events"
    tags = ["admin"]

    @get(
        "/",
        summary="The audit log in a time window, newest first, by keyset (admin).",
        description="since defaults to 7 days before until, which defaults to now: a window always bounds the "
        "scan, which the BRIN index on occurred_at narrows to the table blocks of that window.",
    )
    async def list_events(
        self,
        db: Db,
        caller: CurrentCaller,
        request: Request[Any, Any, Any],
        kind: Annotated[str | None, QueryParameter(max_length=64, description="e.g. order_placed")] = None,
        since: Annotated[datetime | None, QueryParameter(description="From (inclusive), ISO 8601.")] = None,
        until: Annotated[datetime | None, QueryParameter(description="To (exclusive), ISO 8601.")] = None,
        limit: Limit = 50,
        after: After = None,
    ) -> EventPage:
        ensure_admin(caller)
        until = until or datetime.now(UTC)
        since = since or until - DEFAULT_WINDOW
        check_window(since, until, names=("since", "until"))
        position = read_cursor(request, after, size=1, parse=lambda key: int(key[0]))
        async with db.connection() as conn:
            items = await service.list_events(conn, kind=kind, since=since, until=until, after=position, limit=limit)
        next_key = [str(items[-1].id)] if len(items) == limit else None
        return EventPage(items=items, next=next_cursor(request, next_key))


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
        caller: CurrentCaller,
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
        ensure_admin(caller)
        async with db.connection() as conn:
            return await diagnostics.collect(conn, threshold_seconds=threshold_seconds, limit=limit, order_by=order_by)

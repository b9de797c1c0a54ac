"""Liveness and readiness probes.

Ready means ready: the database answers through the pool, and its schema has every migration
this code ships (a newer schema is fine, as during a rolling deploy whose migration ran first).
The code's migration ids are read from migrations/ once, when the app is built.
"""

import asyncio
import logging
from typing import Any

import asyncpg
import msgspec
from litestar import Controller, Request, Response, get

from bookshop.db.queries import queries
from bookshop.http.errors import problem_response

READY_TIMEOUT_SECONDS = 2.0

logger = logging.getLogger("bookshop.health")


class Status(msgspec.Struct):
    status: str


class HealthController(Controller):
    tags = ["health"]

    @get("/health", summary="The process is up (does not touch the database).")
    async def health(self) -> Status:
        return Status(status="ok")

    @get(
        "/ready",
        summary="The database answers through the pool and has every migration the code ships; 503 when not.",
    )
    async def ready(self, request: Request[Any, Any, Any]) -> Any:
        state = request.app.state
        try:
            async with asyncio.timeout(READY_TIMEOUT_SECONDS), state.database.connection() as conn:
                pending: list[str] = await queries.ops.pending_migrations(conn, ids=state.code_migrations)
        except asyncpg.UndefinedTableError:  # yoyo never ran here
            pending = list(state.code_migrations)
        except asyncpg.InsufficientPrivilegeError:
            return not_ready(
                request,
                "schema-unknown",
                "The application role may not read which migrations are applied (_yoyo_migration):"
                " run `bookshop migrate apply`, which grants it.",
            )
        except Exception as error:  # noqa: BLE001 - whatever the failure, the answer is "not ready"
            logger.warning("not ready: %s", type(error).__name__)
            return not_ready(request, "database-unavailable", "The database does not answer.")
        if pending:
            logger.warning("not ready: %d migration(s) pending", len(pending))
            return not_ready(
                request,
                "migrations-pending",
                f"The schema is older than the code: {len(pending)} migration(s) not applied: {', '.join(pending)}."
                " Run `bookshop migrate apply`.",
            )
        return Status(status="ready")


def not_ready(request: Request[Any, Any, Any], kind: str, detail: str) -> Response[bytes]:
    headers = {"Retry-After": str(request.app.state.settings.retry_after_seconds)}
    return problem_response(503, kind, detail=detail, headers=headers)

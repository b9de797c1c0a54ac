"""Liveness and readiness probes."""

import asyncio
import logging
from typing import Any

import msgspec
from litestar import Controller, Request, get

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

    @get("/ready", summary="The database answers a query through the pool; 503 when it cannot.")
    async def ready(self, request: Request[Any, Any, Any]) -> Any:
        state = request.app.state
        try:
            async with asyncio.timeout(READY_TIMEOUT_SECONDS), state.database.connection() as conn:
                await queries.ops.ping(conn)
        except Exception as error:  # noqa: BLE001 - whatever the failure, the answer is "not ready"
            logger.warning("not ready: %s", type(error).__name__)
            return problem_response(
                503,
                "database-unavailable",
                detail="The database does not answer.",
                headers={"Retry-After": str(state.settings.retry_after_seconds)},
            )
        return Status(status="ready")

"""Recording when API keys are used (api_keys.last_used_at, users.last_login_at), off the
request's path.

Authentication only reads. A key whose last_used_at is older than TOUCH_INTERVAL is noted
here, in memory, and a background task writes the notes to the primary in one transaction per
batch (at most one batch per FLUSH_SECONDS). So a request never waits for that write, and never
fails for it: not when the primary turned read-only in a failover, not when it is down. A batch
that fails stays pending and is tried again, newer notes of the same key replacing older ones;
the last flush runs when the service stops, and a note it could not write is logged as lost.
These stamps are advisory (which keys are idle, which users to deactivate), so a few seconds of
delay cost nothing.
"""

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import NamedTuple
from uuid import UUID

from bookshop.accounts.schemas import Caller
from bookshop.db.pool import Database, act_as
from bookshop.db.queries import queries

logger = logging.getLogger("bookshop.key_use")

# How stale last_used_at may get before a request notes a new use: one write a minute per key
# at most, instead of one per request.
TOUCH_INTERVAL = timedelta(minutes=1)
FLUSH_SECONDS = 1.0
# Keys noted and not yet written, at most; past it, new notes are dropped (and counted in the log).
MAX_PENDING = 100_000


class KeyUse(NamedTuple):
    user_id: UUID
    role: str
    used_at: datetime


class KeyUseRecorder:
    """The notes of key use not yet written, by key id, and the writing of them."""

    def __init__(self, database: Database) -> None:
        self.database = database
        self.pending: dict[UUID, KeyUse] = {}
        self._noted = asyncio.Event()
        self._failing = False

    def note(self, caller: Caller, *, last_used_at: datetime | None) -> None:
        """Notes that the caller's key was used now, if its stored stamp is older than TOUCH_INTERVAL."""
        now = datetime.now(UTC)
        if last_used_at is not None and now - last_used_at <= TOUCH_INTERVAL:
            return
        if caller.key_id not in self.pending and len(self.pending) >= MAX_PENDING:
            logger.warning("key use not recorded: %d keys already wait to be written", len(self.pending))
            return
        assert caller.user_id is not None  # a key always belongs to a user
        self.pending[caller.key_id] = KeyUse(caller.user_id, caller.role, now)
        self._noted.set()

    async def flush(self) -> int:
        """Writes every pending note to the primary in one transaction; returns how many. On
        failure the notes stay pending (newer notes of a key win) and the error is raised."""
        batch, self.pending = self.pending, {}
        self._noted.clear()
        if not batch:
            return 0
        try:
            async with self.database.transaction() as conn:
                for key_id, use in batch.items():
                    await act_as(conn, user_id=use.user_id, role=use.role)
                    await queries.accounts.touch_api_key(conn, id=key_id, used_at=use.used_at)
        except BaseException:
            self.pending = {**batch, **self.pending}
            self._noted.set()
            raise
        return len(batch)

    async def run(self) -> None:
        """Flushes whenever notes wait, at most once per FLUSH_SECONDS, until cancelled."""
        while True:
            await self._noted.wait()
            try:
                await self.flush()
            except Exception as error:  # noqa: BLE001 - any fault: keep the notes, try again later
                if not self._failing:
                    pending = len(self.pending)
                    logger.warning("key use not written yet (%s); %d keys pending", type(error).__name__, pending)
                self._failing = True
            else:
                if self._failing:
                    logger.info("key use written again")
                self._failing = False
            await asyncio.sleep(FLUSH_SECONDS)


@asynccontextmanager
async def recording_key_use(database: Database) -> AsyncIterator[KeyUseRecorder]:
    """A recorder whose notes a background task writes; the last ones are written on the way out."""
    recorder = KeyUseRecorder(database)
    writer = asyncio.create_task(recorder.run(), name="key-use-writer")
    try:
        yield recorder
    finally:
        writer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await writer
        try:
            await recorder.flush()
        except Exception as error:  # noqa: BLE001 - stopping anyway: say what is lost
            logger.warning("key use of %d keys not recorded at shutdown (%s)", len(recorder.pending), error)

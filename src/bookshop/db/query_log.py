"""Latency per named query and the slow-query log, both by the query's name.

Every connection the pool opens gets one asyncpg query logger (pool.init_connection). asyncpg
calls it after each statement with the statement's text, its arguments and how long it took.
The text is looked up in a table built from the aiosql loader, so a statement is known by its
name (`catalog.get_book_detail`), as `bookshop sql list` shows it. The arguments are never read,
and the text never leaves this module: no metric label or log line can carry a parameter value.

Statements that are not named queries are counted under one of a few fixed names: asyncpg's
own `BEGIN;` / `COMMIT;` / `ROLLBACK;` as `transaction.begin` / `.commit` / `.rollback` (a slow
commit is worth seeing), anything else (savepoints, COPY, the ops tooling's EXPLAIN) as
`unnamed`. So the label has as many values as there are named queries, plus four.

asyncpg does not call query loggers for prepared statements and their cursors (aiosql's
`*_cursor` variants, the NDJSON export): those are not timed here.
"""

import logging
import math
from collections.abc import Mapping
from typing import Any

from asyncpg.connection import LoggedQuery
from prometheus_client import Histogram

logger = logging.getLogger("bookshop.db.slow_query")

UNNAMED = "unnamed"
# The statements asyncpg's Transaction sends (asyncpg/transaction.py) for the default isolation.
TRANSACTION_STATEMENTS = {
    "BEGIN;": "transaction.begin",
    "COMMIT;": "transaction.commit",
    "ROLLBACK;": "transaction.rollback",
}


def statement_names(loaded: Any) -> dict[str, str]:
    """Statement text → name, for every query the aiosql loader holds, plus transaction control.

    aiosql adds a `<name>_cursor` twin to every select, running the same text; the name without
    the suffix is the one kept.
    """
    available = set(loaded.available_queries)
    names = dict(TRANSACTION_STATEMENTS)
    for name in sorted(available):
        if name.endswith("_cursor") and name.removesuffix("_cursor") in available:
            continue
        method = loaded
        for part in name.split("."):
            method = getattr(method, part)
        names.setdefault(method.sql, name)
    return names


class QueryObserver:
    """An asyncpg query logger: a dict lookup and a histogram observation per statement, and a
    warning naming the query when it took at least `slow_query_ms` (0: never).

    asyncpg runs it with `loop.call_soon` in the context of the statement's caller, so a warning
    raised during a request carries that request's id.
    """

    def __init__(self, names: Mapping[str, str], *, slow_query_ms: float, histogram: Histogram | None = None) -> None:
        self._names = names
        self._slow_seconds = slow_query_ms / 1000 if slow_query_ms > 0 else math.inf
        self._histogram = histogram
        self._timers: dict[str, Histogram] = {}

    @property
    def active(self) -> bool:
        """False when there is nothing to do (no histogram, slow-query log off): then the pool
        does not install the logger at all, and statements cost nothing extra."""
        return self._histogram is not None or self._slow_seconds != math.inf

    def __call__(self, record: LoggedQuery, /) -> None:
        name = self._names.get(record.query, UNNAMED)
        elapsed = record.elapsed
        if self._histogram is not None:
            timer = self._timers.get(name)
            if timer is None:
                timer = self._timers[name] = self._histogram.labels(query=name)
            timer.observe(elapsed)
        if elapsed >= self._slow_seconds:
            self._log_slow(name, elapsed, record.exception)

    def _log_slow(self, name: str, elapsed: float, exception: BaseException | None) -> None:
        duration_ms = round(elapsed * 1000, 3)
        fields: dict[str, Any] = {"query": name, "duration_ms": duration_ms}
        if exception is not None:
            # The type only: an error's message can quote the values (a unique violation's DETAIL).
            fields["error"] = type(exception).__name__
        logger.warning("slow query %s: %.1f ms", name, duration_ms, extra=fields)

"""The single aiosql loader: every file under sql/ becomes a namespace by folder.

`queries.accounts.get_user(conn, id=...)` runs the statement named `get_user` in
sql/accounts/*.sql. aiosql builds these methods at load time, so they are typed as Any here;
the service functions that call them carry the types.
"""

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any, cast

import aiosql
from aiosql.adapters.asyncpg import AsyncPGAdapter

from bookshop.paths import SQL_DIR


class ConnectionAdapter(AsyncPGAdapter):
    """aiosql's asyncpg adapter for a connection, never a pool: every caller here passes the
    connection it holds (db/pool.py's Database lends them). aiosql's own adapter first asks
    whether it was given a pool, with `"acquire" in dir(conn)`; on the pool's connection proxy
    that took about 15 µs per statement, 4% of a book detail's CPU (bench/README.md). These are
    the operations sql/ uses (select, `^`, `$`, `!`, and the cursor of a select); the others stay
    aiosql's. The statement text and the order of its parameters are the loader's; sql/ names no
    record classes (the services turn rows into Structs), so `record_class` is always None."""

    def _arguments(self, query_name: str, parameters: Any) -> Sequence[Any]:
        """The statement's arguments in the order of its `$n` placeholders."""
        ordered: Sequence[Any] = self.maybe_order_params(query_name, parameters)  # type: ignore[no-untyped-call]
        return ordered

    async def select(
        self, conn: Any, query_name: str, sql: str, parameters: Any, record_class: Any = None
    ) -> AsyncIterator[Any]:
        for row in await conn.fetch(sql, *self._arguments(query_name, parameters)):
            yield row

    async def select_one(self, conn: Any, query_name: str, sql: str, parameters: Any, record_class: Any = None) -> Any:
        return await conn.fetchrow(sql, *self._arguments(query_name, parameters))

    async def select_value(self, conn: Any, query_name: str, sql: str, parameters: Any) -> Any:
        return await conn.fetchval(sql, *self._arguments(query_name, parameters))

    @asynccontextmanager
    async def select_cursor(self, conn: Any, query_name: str, sql: str, parameters: Any) -> AsyncIterator[Any]:
        statement = await conn.prepare(sql)
        async with conn.transaction():
            yield statement.cursor(*self._arguments(query_name, parameters))

    async def insert_update_delete(self, conn: Any, query_name: str, sql: str, parameters: Any) -> Any:
        return await conn.execute(sql, *self._arguments(query_name, parameters))


queries: Any = aiosql.from_path(SQL_DIR, cast(Any, ConnectionAdapter))

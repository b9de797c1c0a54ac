"""The database connection a request runs on."""

from collections.abc import AsyncIterator

from litestar.datastructures import State

from bookshop.db.pool import Connection


async def provide_connection(state: State) -> AsyncIterator[Connection]:
    """One pooled connection per request, returned to the pool when the handler is done.

    Handlers that write open `async with conn.transaction():`, so a request's writes commit or
    roll back together. A pool that cannot lend a connection in time raises TimeoutError,
    which errors.py answers with 503.
    """
    async with state.pool.acquire(timeout=state.settings.pool_acquire_timeout) as conn:
        yield conn

"""The app's test clients, and the factory of clients with changed settings (make_client)."""

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import httpx
from litestar import Litestar
from litestar.testing import AsyncTestClient

Client = AsyncTestClient[Any]
ClientFactory = Callable[..., AbstractAsyncContextManager[Client]]


@asynccontextmanager
async def concurrent_client(app: Litestar) -> AsyncIterator[httpx.AsyncClient]:
    """A client whose requests run at the same time, on the test's own event loop, for tests
    of what happens when they overlap. AsyncTestClient cannot: it hands each request to the app
    in a thread of its own and blocks the loop until the response, so requests gathered on it
    still run one after another."""
    async with (
        app.lifespan(),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client,
    ):
        yield client

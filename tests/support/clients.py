"""The app's test clients, and the factories of clients with changed settings (make_client,
make_concurrent_client)."""

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import httpx
from litestar import Litestar
from litestar.testing import AsyncTestClient

Client = AsyncTestClient[Any]
ClientFactory = Callable[..., AbstractAsyncContextManager[Client]]


class ConcurrentClient(httpx.AsyncClient):
    """Sends requests straight to the app on the test's own event loop."""

    def __init__(self, app: Litestar) -> None:
        super().__init__(transport=httpx.ASGITransport(app=app), base_url="http://test")
        self.app = app


ConcurrentClientFactory = Callable[..., AbstractAsyncContextManager[ConcurrentClient]]


@asynccontextmanager
async def concurrent_client(app: Litestar) -> AsyncIterator[ConcurrentClient]:
    """A client whose requests run at the same time, for tests of what happens when they overlap.
    AsyncTestClient cannot: it hands each request to the app in a thread of its own and blocks
    the loop until the response, so requests gathered on it still run one after another.

    Errors raised inside the block come out wrapped in an ExceptionGroup (the app's lifespan
    runs a task group), so a test asserts after it where it can."""
    async with app.lifespan(), ConcurrentClient(app) as client:
        yield client

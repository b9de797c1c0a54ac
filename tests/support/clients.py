"""The app's test client, and the factory of clients with changed settings (make_client)."""

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

from litestar.testing import AsyncTestClient

Client = AsyncTestClient[Any]
ClientFactory = Callable[..., AbstractAsyncContextManager[Client]]

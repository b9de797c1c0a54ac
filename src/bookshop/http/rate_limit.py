"""The rate limit: RATE_LIMIT_PER_MINUTE requests per API key, or per address for requests
without a good key, counted in one budget across every worker and host when RATE_LIMIT_STORE
names a shared store.

Who is counted: a request counts against its API key once the key has proved itself, else
against the client's address. Requests without a key and requests whose key is bad share their
address's budget (the bad ones are then refused with 401 by require_key_header in http/auth.py, or 429
once the budget is spent), so a made-up key buys nothing, and no one can spend another's budget
by sending their key's public prefix. The key is checked first, by the request's own
authentication (one indexed lookup, which the `caller` dependency then reuses), so a good key
keeps its own budget whatever its address does. The price: a refused key costs that lookup
even past its address's budget, and a good key on a route that takes no caller (GET /books)
pays the lookup it would be spared: 1.09 ms instead of 0.78 ms in-process (docs/security.md).

How: a window per budget that opens with its first request and lasts a minute; every request
adds one to its count, and one past the limit is refused with 429 until the window ends (its
RateLimit-Reset, and Retry-After). The count is one atomic step in the store, so two workers
never both take the last request of a budget (Litestar's own limiter reads, then writes, under
a lock of one process: with a shared store two processes could). The stores:

- `memory` (the default): this process's memory; with several workers or hosts, each has its
  own budget, so the limit is per process.
- `redis://host:port/db` (or `rediss://`, `unix://`): Redis or Valkey, shared by every worker
  and host that names it: INCR of a key that expires with the window, in one script, one
  round trip.

When the shared store does not answer, requests are refused with 503 and Retry-After, as when
the database does not: no request goes uncounted. Probes and the metrics scrape are never
limited, and never touch the store.
"""

import logging
import math
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from typing import NamedTuple, Protocol

import redis.asyncio
from litestar import Litestar
from litestar.datastructures import MutableScopeHeaders
from litestar.enums import ScopeType
from litestar.exceptions import ServiceUnavailableException, TooManyRequestsException
from litestar.middleware import ASGIMiddleware
from litestar.middleware.rate_limit import get_remote_address
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from redis.exceptions import RedisError

from bookshop.http.auth import authenticated_caller

logger = logging.getLogger("bookshop.rate_limit")

WINDOW_SECONDS = 60
UNLIMITED_PATHS = frozenset({"/health", "/ready", "/metrics"})  # the probes and the scrape
MEMORY = "memory"
REDIS_PREFIX = "bookshop:rate:"  # the limiter's keys in a Redis it may share with others
REDIS_TIMEOUT_SECONDS = 2.0
# The memory store forgets ended windows once it holds this many budgets.
MEMORY_SWEEP_AT = 10_000


class Window(NamedTuple):
    """A budget's window after this request: requests counted in it, this one included, and
    the whole seconds until it ends."""

    hits: int
    resets_in: int


class StoreUnavailable(Exception):
    """The shared store did not answer."""


class Counter(Protocol):
    async def hit(self, bucket: str) -> Window:
        """Counts one request against the bucket, in one atomic step."""
        ...

    async def close(self) -> None: ...


class MemoryCounter:
    """One process's budgets. Counting has no await in it, so it is atomic in the event loop."""

    def __init__(self) -> None:
        self._windows: dict[str, list[float]] = {}  # bucket → [ends at (monotonic), hits]

    async def hit(self, bucket: str) -> Window:
        now = time.monotonic()
        window = self._windows.get(bucket)
        if window is None or window[0] <= now:
            if len(self._windows) >= MEMORY_SWEEP_AT:
                self._windows = {b: w for b, w in self._windows.items() if w[0] > now}
            window = self._windows[bucket] = [now + WINDOW_SECONDS, 0]
        window[1] += 1
        return Window(int(window[1]), max(1, math.ceil(window[0] - now)))

    async def close(self) -> None:
        self._windows.clear()


class RedisCounter:
    """Budgets in Redis (or Valkey), shared by every process that names it."""

    # One atomic step, one round trip, one reply: the first hit opens the window with its
    # expiry, the others count in it (a MULTI of SET NX EX, INCR and TTL would need five
    # commands and replies, which redis-py parses in Python).
    HIT = """
        local hits = redis.call('INCR', KEYS[1])
        if hits == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
        return {hits, redis.call('TTL', KEYS[1])}
    """

    def __init__(self, url: str) -> None:
        self._redis = redis.asyncio.Redis.from_url(
            url, socket_timeout=REDIS_TIMEOUT_SECONDS, socket_connect_timeout=REDIS_TIMEOUT_SECONDS
        )
        self._hit = self._redis.register_script(self.HIT)

    async def hit(self, bucket: str) -> Window:
        try:
            hits, ttl = await self._hit(keys=[REDIS_PREFIX + bucket], args=[WINDOW_SECONDS])
        except RedisError as error:
            raise StoreUnavailable(type(error).__name__) from error
        return Window(int(hits), max(1, int(ttl)))

    async def close(self) -> None:
        await self._redis.aclose()


def counter_for(store: str) -> Counter:
    """The counter RATE_LIMIT_STORE names (settings.py has checked it)."""
    if store == MEMORY:
        return MemoryCounter()
    return RedisCounter(store)


class RateLimitMiddleware(ASGIMiddleware):
    scopes = (ScopeType.HTTP,)

    def __init__(self, *, limit: int, counter: Counter, retry_after_seconds: int) -> None:
        self.should_bypass_for_scope = _unlimited
        self.limit = limit
        self.counter = counter
        self.retry_after_seconds = retry_after_seconds

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        request = scope["litestar_app"].request_class(scope)
        caller = await authenticated_caller(request) if "authorization" in request.headers else None
        bucket = f"key:{caller.key_id}" if caller else f"address:{get_remote_address(request)}"
        try:
            window = await self.counter.hit(bucket)
        except StoreUnavailable as error:
            logger.warning("rate limit store unavailable (%s) on %s %s", error, request.method, request.url.path)
            raise ServiceUnavailableException(
                detail="The rate limit store is not available right now; retry shortly.",
                headers={"Retry-After": str(self.retry_after_seconds)},
            ) from None
        headers = {
            "RateLimit-Policy": f"{self.limit}; w={WINDOW_SECONDS}",
            "RateLimit-Limit": str(self.limit),
            "RateLimit-Remaining": str(max(0, self.limit - window.hits)),
            "RateLimit-Reset": str(window.resets_in),
        }
        if window.hits > self.limit:
            raise TooManyRequestsException(headers=headers)
        await next_app(scope, receive, _with_headers(send, headers))


def _unlimited(scope: Scope) -> bool:
    return scope["path"] in UNLIMITED_PATHS


def _with_headers(send: Send, headers: dict[str, str]) -> Send:
    async def send_with_headers(message: Message) -> None:
        if message["type"] == "http.response.start":
            response_headers = MutableScopeHeaders.from_message(message)
            for name, value in headers.items():
                response_headers[name] = value
        await send(message)

    return send_with_headers


@dataclass(frozen=True)
class RateLimit:
    """The limiter's middleware, and the lifespan that closes its store's connections."""

    middleware: RateLimitMiddleware
    lifespan: Callable[[Litestar], AbstractAsyncContextManager[None]]


def rate_limit(requests_per_minute: int, *, store: str, retry_after_seconds: int) -> RateLimit | None:
    """None when the limit is off (0)."""
    if requests_per_minute == 0:
        return None
    counter = counter_for(store)

    @asynccontextmanager
    async def close_store(app: Litestar) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await counter.close()

    middleware = RateLimitMiddleware(
        limit=requests_per_minute, counter=counter, retry_after_seconds=retry_after_seconds
    )
    return RateLimit(middleware=middleware, lifespan=close_store)

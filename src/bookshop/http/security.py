"""The HTTP edge: security headers on every response, a rate limit per API key, CORS on request."""

from typing import Any

from litestar import Request
from litestar.config.cors import CORSConfig
from litestar.datastructures import MutableScopeHeaders
from litestar.middleware.rate_limit import RateLimitConfig, get_remote_address
from litestar.types import Message, Scope

from bookshop.accounts import api_keys

DOCS_PATH = "/schema"

# The API answers JSON only: nothing in a response may load, run or be framed.
API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'"
# The Swagger UI page loads its script and style from jsDelivr and starts from an inline script.
DOCS_CSP = (
    "default-src 'none'; script-src https://cdn.jsdelivr.net 'unsafe-inline'; "
    "style-src https://cdn.jsdelivr.net 'unsafe-inline'; img-src 'self' data: https://cdn.jsdelivr.net; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)


def _is_docs_page(path: str) -> bool:
    return (path == DOCS_PATH or path.startswith(DOCS_PATH + "/")) and not path.endswith(".json")


async def security_headers(message: Message, scope: Scope) -> None:
    """A before_send hook: it sees every response, error responses and unknown routes included."""
    if message["type"] != "http.response.start":
        return
    headers = MutableScopeHeaders.from_message(message)
    headers["X-Content-Type-Options"] = "nosniff"
    headers["Referrer-Policy"] = "no-referrer"
    headers["Content-Security-Policy"] = DOCS_CSP if _is_docs_page(scope["path"]) else API_CSP


def rate_limit_identifier(request: Request[Any, Any, Any]) -> str:
    """The bucket a request counts against: its API key's public prefix, else its address.

    Only the prefix is used, never the secret. A made-up prefix gets a bucket of its own but
    then fails authentication; limiting those per address belongs to the proxy in front.
    """
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    parsed = api_keys.parse(token.strip()) if scheme.lower() == "bearer" else None
    return f"key:{parsed.prefix}" if parsed else f"address:{get_remote_address(request)}"


def rate_limit_config(requests_per_minute: int) -> RateLimitConfig | None:
    """Per process: with several workers each keeps its own count. Probes and the metrics
    scrape are never limited."""
    if requests_per_minute == 0:
        return None
    return RateLimitConfig(
        rate_limit=("minute", requests_per_minute),
        identifier_for_request=rate_limit_identifier,
        exclude=["^/health$", "^/ready$", "^/metrics$"],
    )


def cors_config(allow_origins: str) -> CORSConfig | None:
    """Off unless origins are configured (comma-separated)."""
    origins = [origin.strip() for origin in allow_origins.split(",") if origin.strip()]
    if not origins:
        return None
    return CORSConfig(
        allow_origins=origins,
        allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
        allow_headers=["Authorization", "Content-Type"],
        expose_headers=["Retry-After", "RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset"],
    )

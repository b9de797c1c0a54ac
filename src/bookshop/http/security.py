"""The HTTP edge: security headers on every response, and CORS on request (the rate limit is in http/rate_limit.py)."""

from litestar.config.cors import CORSConfig
from litestar.datastructures import MutableScopeHeaders
from litestar.types import Message, Scope

DOCS_PATH = "/schema"

# The API answers JSON only: nothing in a response may load, run or be framed.
API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'"
# The Swagger UI page loads its script, style and icon from the app (/schema/assets/, see
# http/docs_page.py) and starts from an inline script.
DOCS_CSP = (
    "default-src 'none'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
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

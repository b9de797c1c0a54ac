"""The database the settings name: DATABASE_URL and MIGRATIONS_DATABASE_URL, or the embedded server."""

from bookshop.db import embedded
from bookshop.db.urls import DatabaseUrls, libpq_url
from bookshop.settings import Settings


def resolve_database_urls(settings: Settings) -> DatabaseUrls:
    """DATABASE_URL (the application role) and MIGRATIONS_DATABASE_URL (the owner; DATABASE_URL
    when unset, which the CLI warns of) when set; otherwise both roles on the embedded server."""
    if not settings.database_url:
        return embedded.database_urls(settings.embedded_pgdata)
    app = libpq_url(settings.database_url)
    owner = settings.migrations_database_url
    return DatabaseUrls(app=app, owner=libpq_url(owner) if owner else app)

"""The suite's databases: the template every test database is cloned from, and their URLs."""

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg

from bookshop.db.admin import APP_ROLE, OWNER_ROLE
from bookshop.db.urls import DatabaseUrls, with_database, with_user

# One per pytest-xdist worker ("gw0", …), should two workers share a server (TEST_DATABASE_URL).
TEMPLATE_DATABASE = "_".join(filter(None, ("bookshop_test_template", os.environ.get("PYTEST_XDIST_WORKER"))))
# For servers that check passwords (a container, TEST_DATABASE_URL); the embedded one trusts.
ROLE_PASSWORD = "test-password"


def urls_for(server_url: str, database: str) -> DatabaseUrls:
    url = with_database(server_url, database)
    return DatabaseUrls(app=with_user(url, APP_ROLE, ROLE_PASSWORD), owner=with_user(url, OWNER_ROLE, ROLE_PASSWORD))


@asynccontextmanager
async def cloned_database(admin_conn: asyncpg.Connection, server_url: str, prefix: str) -> AsyncIterator[DatabaseUrls]:
    """A fresh, migrated database cloned from the template (about 50 ms), dropped on the way out.
    Its users must also depend on `template_urls`, which makes the template."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    await admin_conn.execute(f"CREATE DATABASE {name} TEMPLATE {TEMPLATE_DATABASE} OWNER {OWNER_ROLE}")
    try:
        yield urls_for(server_url, name)
    finally:
        await admin_conn.execute(f"DROP DATABASE {name} WITH (FORCE)")

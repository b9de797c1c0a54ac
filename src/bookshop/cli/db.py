"""`bookshop db`: the database's URL, a psql shell, stopping the embedded server, or bootstrapping a
configured server's roles, database and extensions."""

import argparse
import subprocess
from urllib.parse import urlsplit

from bookshop.cli.common import Commands, console, owner_url
from bookshop.db import admin
from bookshop.db.admin import APP_ROLE, OWNER_ROLE
from bookshop.db.configured import load_embedded, resolve_database_urls
from bookshop.db.urls import libpq_url, user_of, yoyo_url
from bookshop.settings import Settings


def register(commands: Commands) -> None:
    p = commands.add_parser("db", help="the database: its URL, a psql shell, or stop the embedded server")
    p.add_argument("action", choices=["url", "psql", "stop", "bootstrap"])
    p.add_argument("--owner", action="store_true", help="as the owner role (default: the application role)")
    p.add_argument("--yoyo", action="store_true", help="with url: the owner's URL in the form the yoyo CLI wants")
    p.add_argument("--admin-url", help="with bootstrap: a superuser URL on the server")
    p.set_defaults(handler=db)


def db(settings: Settings, args: argparse.Namespace) -> int:
    if args.action == "stop":
        if settings.database_url:
            console.print("DATABASE_URL is set: there is no embedded server to stop")
            return 1
        stopped = load_embedded("`bookshop db stop` stops the embedded server").stop(settings.embedded_pgdata)
        console.print("stopped the embedded server" if stopped else "the embedded server is not running")
        return 0
    if args.action == "bootstrap":
        return bootstrap(settings, args)
    if args.action == "url" and args.yoyo:
        print(yoyo_url(owner_url(settings)))  # the plain yoyo CLI runs migrations: as the owner
        return 0
    dsn = owner_url(settings) if args.owner else resolve_database_urls(settings).app
    if args.action == "url":
        print(dsn)
        return 0
    # The v18 client shipped with the embedded server works against any supported server.
    psql = load_embedded("`bookshop db psql` runs the psql client shipped with the embedded server").PSQL
    return subprocess.call([str(psql), dsn])  # noqa: S603 - our own binary and URL


def bootstrap(settings: Settings, args: argparse.Namespace) -> int:
    """Roles, database and extensions on a configured server, from a superuser URL. The role
    names and passwords come from DATABASE_URL and MIGRATIONS_DATABASE_URL."""
    if not (settings.database_url and settings.migrations_database_url and args.admin_url):
        console.print("bootstrap needs DATABASE_URL, MIGRATIONS_DATABASE_URL and --admin-url (a superuser URL)")
        return 2
    (app_user, app_password), (owner_user, owner_password) = (
        user_of(settings.database_url),
        user_of(settings.migrations_database_url),
    )
    if (app_user, owner_user) != (APP_ROLE, OWNER_ROLE):
        console.print(f"DATABASE_URL must connect as {APP_ROLE} and MIGRATIONS_DATABASE_URL as {OWNER_ROLE}")
        return 2
    database = urlsplit(libpq_url(settings.database_url)).path.lstrip("/")
    admin.bootstrap(
        libpq_url(args.admin_url), database=database, owner_password=owner_password, app_password=app_password
    )
    console.print(
        f"bootstrapped {database}: roles {OWNER_ROLE} and {APP_ROLE}, extensions {', '.join(admin.EXTENSIONS)}"
    )
    return 0

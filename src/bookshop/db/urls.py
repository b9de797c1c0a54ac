"""Database URLs: the same server reached as another role or database, or in another client's form."""

from urllib.parse import urlsplit, urlunsplit

import msgspec


def with_database(url: str, database: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{database}"))


def with_user(url: str, user: str, password: str | None = None) -> str:
    """The URL with its user (and password) replaced; a password of None keeps none."""
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    credentials = user if password is None else f"{user}:{password}"
    return urlunsplit(parts._replace(netloc=f"{credentials}@{host}"))


def user_of(url: str) -> tuple[str | None, str | None]:
    parts = urlsplit(url)
    return parts.username, parts.password


def libpq_url(url: str) -> str:
    """The URL asyncpg and psql understand, also from yoyo's postgresql+psycopg:// form."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(scheme="postgresql")) if "+" in parts.scheme else url


def yoyo_url(url: str) -> str:
    """yoyo names its psycopg 3 driver in the scheme; plain postgresql:// would mean psycopg2."""
    return urlunsplit(urlsplit(url)._replace(scheme="postgresql+psycopg"))


class DatabaseUrls(msgspec.Struct, frozen=True):
    """One database as the service reaches it (app: the application role) and as migrations do
    (owner: the role that owns the schema)."""

    app: str
    owner: str

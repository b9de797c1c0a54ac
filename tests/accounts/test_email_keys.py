"""Look-alike emails name one account: addresses are compared by users.email_key (NFKC, case
folding, the Turkish i's as i), under a unique index among live users (migration 0019)."""

import asyncpg
import pytest

from bookshop.accounts import service
from bookshop.accounts.emails import DEFAULT_IGNORABLE, email_key
from bookshop.db import migrations
from bookshop.db.urls import DatabaseUrls
from bookshop.paths import MIGRATIONS_DIR
from tests.support.accounts import Account
from tests.support.clients import Client
from tests.support.problems import assert_problem

MIGRATION = "0019_email_keys"

# (first registered, look-alike registered second): each pair must collide.
LOOK_ALIKES = [
    ("ili@example.com", "\u0131l\u0131@example.com"),  # Turkish dotless i
    ("ili@example.com", "\u0130L\u0130@example.com"),  # Turkish dotted capital I
    ("fine@example.com", "\ufb01ne@example.com"),  # the fi ligature
    ("strasse@example.com", "STRA\u00dfE@example.com"),  # sharp s folds to ss
    ("strasse@example.com", "stra\u1e9ee@example.com"),  # capital sharp s
    ("ab@example.com", "\uff21\uff42@example.com"),  # full-width letters
    ("jose\u0301@example.com", "jos\u00e9@example.com"),  # decomposed and composed e-acute
    (
        "\u03c3\u03bf\u03c6\u03b9\u03b1@example.com",
        "\u03a3\u039f\u03a6\u0399\u0391@example.com",
    ),  # Greek, in upper case
    ("mail@example.com", "MAIL@EXAMPLE.COM"),
    ("admin@example.com", "ad\u200bmin@example.com"),  # a zero-width space
    ("admin@example.com", "ad\u00admin\u2060@example.com"),  # a soft hyphen and a word joiner
    ("admin@example.com", "\u202eadmin@example.com"),  # a bidi override
]


async def register(client: Client, email: str) -> object:
    return await client.post("/users", json={"email": email, "name": "Reader"})


@pytest.mark.parametrize(("first", "second"), LOOK_ALIKES)
async def test_a_look_alike_of_a_registered_email_is_a_409(client: Client, first: str, second: str) -> None:
    assert (await register(client, first)).status_code == 201
    problem = assert_problem(await register(client, second), 409)
    assert problem["type"] == "urn:bookshop:problem:unique-violation"
    assert problem["constraint"] == "users_email_key_live_key"


async def test_different_addresses_stay_different(client: Client) -> None:
    for email in ["jose@example.com", "jos\u00e9@example.com", "li@example.com", "l1@example.com"]:
        assert (await register(client, email)).status_code == 201, email


async def test_the_email_is_kept_as_written_and_a_look_alike_finds_it(client: Client, conn: asyncpg.Connection) -> None:
    registered = await register(client, "\u0130lker@Example.com")
    assert registered.json()["user"]["email"] == "\u0130lker@Example.com"
    found = await service.get_user_by_email(conn, email="ILKER@example.COM")
    assert found is not None
    assert found.email == "\u0130lker@Example.com"
    assert await service.get_user_by_email(conn, email="\u0131lker@example.com") == found
    assert await service.get_user_by_email(conn, email="other@example.com") is None


async def test_changing_or_restoring_to_a_look_alike_is_a_409(
    client: Client, customer: Account, staff: Account, make_account: object
) -> None:
    taken = (await register(client, "fish@example.com")).json()["user"]["id"]
    url = f"/users/{customer.user_id}"
    problem = assert_problem(
        await client.patch(url, json={"email": "\ufb01sh@example.com"}, headers=customer.headers), 409
    )
    assert problem["constraint"] == "users_email_key_live_key"
    # A change of case only keeps the account's own key, so it is no conflict with itself.
    own = customer.email.upper()
    assert (await client.patch(url, json={"email": own}, headers=customer.headers)).json()["email"] == own

    assert (await client.delete(f"/users/{taken}", headers=staff.headers)).status_code == 204
    assert (await register(client, "FISH@example.com")).status_code == 201
    assert_problem(await client.post(f"/users/{taken}/restore", headers=staff.headers), 409)


async def test_the_service_stores_its_own_key_where_sql_would_differ(client: Client, conn: asyncpg.Connection) -> None:
    """Alpha with the iota subscript (U+1FB3) folds to alpha + iota; lower() keeps it as it is.
    The address collides with its folded spelling because the service, not SQL, made the key."""
    registered = await register(client, "\u1fb3@example.com")
    user_id = registered.json()["user"]["id"]
    stored = await conn.fetchval("SELECT email_key FROM users WHERE id = $1::uuid", user_id)
    assert stored == "\u03b1\u03b9@example.com" != await conn.fetchval("SELECT email_key_of($1)", "\u1fb3@example.com")
    assert_problem(await register(client, "\u03b1\u03b9@example.com"), 409)


async def test_writers_outside_the_service_get_a_key_from_the_database(conn: asyncpg.Connection) -> None:
    """psql, bulk loads: the trigger fills the key with email_key_of(), SQL's nearest version."""
    user_id = await conn.fetchval("INSERT INTO users (email, name) VALUES ('Raw@Example.com', 'Raw') RETURNING id")
    assert await conn.fetchval("SELECT email_key FROM users WHERE id = $1", user_id) == "raw@example.com"
    with pytest.raises(asyncpg.UniqueViolationError):
        await conn.execute("INSERT INTO users (email, name) VALUES ('RAW@example.COM', 'Again')")
    await conn.execute("UPDATE users SET email = 'Moved@Example.com' WHERE id = $1", user_id)
    assert await conn.fetchval("SELECT email_key FROM users WHERE id = $1", user_id) == "moved@example.com"
    # The service's own key is kept: an update that changes only the case leaves it as it is.
    await conn.execute("UPDATE users SET email_key = 'kept' WHERE id = $1", user_id)
    await conn.execute("UPDATE users SET email = 'MOVED@example.com' WHERE id = $1", user_id)
    assert await conn.fetchval("SELECT email_key FROM users WHERE id = $1", user_id) == "kept"
    with pytest.raises(asyncpg.CheckViolationError):
        await conn.execute("UPDATE users SET email_key = '' WHERE id = $1", user_id)


@pytest.mark.parametrize(
    "email",
    [
        "Plain.Address+tag@Example.COM",
        *(email for pair in LOOK_ALIKES for email in pair),
        "\u00c5ngstr\u00f6m@example.com",  # Angstrom sign and o-umlaut
        "\u212bngstr\u00f6m@example.com",  # the Angstrom sign U+212B itself
        "\u039f\u0394\u039f\u03a3@example.com",  # final sigma in the folded form
    ],
)
async def test_the_databases_key_matches_the_services_for_common_addresses(
    conn: asyncpg.Connection, email: str
) -> None:
    assert await conn.fetchval("SELECT email_key_of($1)", email) == email_key(email)


async def test_both_drop_every_default_ignorable_code_point(conn: asyncpg.Connection) -> None:
    emails = [f"a{chr(code)}b@example.com" for first, last in DEFAULT_IGNORABLE for code in range(first, last + 1)]
    keys = await conn.fetchval(
        "SELECT array_agg(email_key_of(e) ORDER BY n) FROM unnest($1::text[]) WITH ORDINALITY AS t(e, n)", emails
    )
    assert set(keys) == {email_key(email) for email in emails} == {"ab@example.com"}


def later_migrations() -> int:
    """How many migrations are from 0019 on: rolled back to reach the schema before it."""
    forward = sorted(p.stem for p in MIGRATIONS_DIR.glob("*.sql") if not p.name.endswith(".rollback.sql"))
    return len(forward) - forward.index(MIGRATION)


async def test_the_migration_keys_existing_rows_and_stops_on_look_alikes(
    database_urls: DatabaseUrls, conn: asyncpg.Connection
) -> None:
    migrations.rollback(database_urls.owner, count=later_migrations())
    # More rows than one backfill batch, and two live look-alikes the old index let in.
    await conn.execute(
        "INSERT INTO users (email, name)"
        " SELECT 'Reader' || n || '@Example.com', 'R' FROM generate_series(1, 12000) AS n"
    )
    await conn.execute(
        "INSERT INTO users (email, name) VALUES ('ili@example.com', 'A'), ('\u0131l\u0131@example.com', 'B')"
    )
    with pytest.raises(Exception, match="users_email_key_live_key"):
        migrations.apply(database_urls.owner)

    # Once one of the two is resolved, applying again completes it.
    await conn.execute("UPDATE users SET deleted_at = now() WHERE email = '\u0131l\u0131@example.com'")
    assert MIGRATION in migrations.apply(database_urls.owner)
    keys = await conn.fetch("SELECT email, email_key FROM users")
    assert len(keys) == 12002
    assert all(row["email_key"] == email_key(row["email"]) for row in keys)
    indexes = await conn.fetch("SELECT indexname FROM pg_indexes WHERE tablename = 'users'")
    assert {"users_email_key_live_key", "users_live_admins_idx"} <= {row["indexname"] for row in indexes}
    assert "users_email_live_key" not in {row["indexname"] for row in indexes}
    invalid = await conn.fetchval("SELECT count(*) FROM pg_index WHERE NOT indisvalid")
    assert invalid == 0

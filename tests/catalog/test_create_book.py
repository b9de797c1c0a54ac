"""Friendly book creation: POST /books makes a unique slug from the title when none is given,
and publishes a published book without published_at at the time it is created."""

import asyncio
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import asyncpg
import msgspec
import pytest

from bookshop.catalog import service
from bookshop.catalog.schemas import NewBook
from bookshop.catalog.service import SLUG_BASE_MAX, slugify
from bookshop.db.pool import connect
from bookshop.db.urls import DatabaseUrls
from bookshop.settings import Settings
from tests.support.accounts import Account
from tests.support.catalog import EPOCH, add_author
from tests.support.clients import Client, ConcurrentClientFactory
from tests.support.problems import assert_problem
from tests.support.waiting import wait_until

SLUG = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")  # as catalog/schemas.py's Slug


def new_book(author_id: str, title: str, **fields: Any) -> dict[str, Any]:
    return {"title": title, "author_id": author_id, "price": "9.99", **fields}


async def create(client: Client, staff: Account, body: dict[str, Any]) -> Any:
    return await client.post("/books", json=body, headers=staff.headers)


@pytest.mark.parametrize(
    ("title", "slug"),
    [
        ("The Left Hand of Darkness", "the-left-hand-of-darkness"),
        ("  Dune: Part II!  ", "dune-part-ii"),
        ("Hitchhiker\u2019s Guide", "hitchhikers-guide"),
        ("Les Mis\u00e9rables", "les-miserables"),
        ("Stra\u00dfe \u00e6on \u00d8resund", "strasse-aeon-oresund"),
        ("Na\u0131ve \u0130stanbul", "naive-istanbul"),
        ("1984", "1984"),
        ("C++ & Rust (2nd ed.)", "c-rust-2nd-ed"),
        ("\u6771\u4eac Tokyo", "tokyo"),
        ("Search", "search-book"),  # /books/search is a route, not a book
    ],
)
def test_slugify(title: str, slug: str) -> None:
    assert slugify(title) == slug


def test_slugify_keeps_whole_words_within_the_bound_and_gives_up_on_no_ascii() -> None:
    long = slugify("word " * 100)
    assert long is not None
    assert len(long) <= SLUG_BASE_MAX
    assert long.endswith("-word")
    assert SLUG.match(long)
    assert slugify("x" * 500) == "x" * SLUG_BASE_MAX
    assert slugify("\u6771\u4eac\u306e\u591c") is None
    assert slugify("!!! ???") is None


async def test_a_book_without_a_slug_gets_one_from_its_title(client: Client, staff: Account) -> None:
    author_id = await add_author(client, staff)
    body = new_book(author_id, "A Wizard of Earthsea", is_published=True, published_at=EPOCH.isoformat())
    created = await create(client, staff, body)
    assert created.status_code == 201, created.text
    assert created.json()["slug"] == "a-wizard-of-earthsea"
    assert (await client.get("/books/a-wizard-of-earthsea")).json()["id"] == created.json()["id"]


async def test_a_taken_slug_gets_the_next_free_number(client: Client, staff: Account) -> None:
    author_id = await add_author(client, staff)
    slugs = [(await create(client, staff, new_book(author_id, "Dune"))).json()["slug"] for _ in range(3)]
    assert slugs == ["dune", "dune-2", "dune-3"]
    # A deleted book's slug is free again; an explicit slug that is taken is still a 409.
    books = (await client.get("/books/dune-2", headers=staff.headers)).json()
    assert (await client.delete(f"/books/{books['id']}", headers=staff.headers)).status_code == 204
    assert (await create(client, staff, new_book(author_id, "Dune"))).json()["slug"] == "dune-2"
    taken = assert_problem(await create(client, staff, new_book(author_id, "Other", slug="dune")), 409)
    assert taken["constraint"] == "books_slug_live_key"


async def test_a_title_with_no_ascii_word_gets_a_slug_from_the_books_id(client: Client, staff: Account) -> None:
    author_id = await add_author(client, staff)
    created = await create(client, staff, new_book(author_id, "\u6771\u4eac\u306e\u591c"))
    assert created.status_code == 201, created.text
    book = created.json()
    assert book["slug"] == "book-" + book["id"].replace("-", "")[-8:]
    assert SLUG.match(book["slug"])


async def test_past_a_hundred_the_slug_takes_the_ids_tail(
    client: Client, staff: Account, conn: asyncpg.Connection
) -> None:
    author_id = await add_author(client, staff)
    await conn.execute(
        "INSERT INTO books (slug, title, author_id, price)"
        " SELECT 'saga' || CASE WHEN n = 1 THEN '' ELSE '-' || n END, 'Saga', $1::uuid, 1"
        " FROM generate_series(1, 100) AS n",
        author_id,
    )
    book = (await create(client, staff, new_book(author_id, "Saga"))).json()
    assert book["slug"] == "saga-" + book["id"].replace("-", "")[-8:]


async def test_two_books_of_one_title_created_at_once_get_two_slugs(
    make_concurrent_client: ConcurrentClientFactory, client: Client, staff: Account, conn: asyncpg.Connection
) -> None:
    author_id = await add_author(client, staff)
    async with make_concurrent_client() as http:
        for _ in range(3):  # a few rounds, so that the creations overlap at least once
            responses = await asyncio.gather(
                *(http.post("/books", json=new_book(author_id, "Twin"), headers=staff.headers) for _ in range(4))
            )
            assert [r.status_code for r in responses] == [201] * 4, [r.text for r in responses]
    slugs = [row["slug"] for row in await conn.fetch("SELECT slug FROM books WHERE title = 'Twin' ORDER BY slug")]
    assert sorted(slugs) == sorted(["twin", *(f"twin-{n}" for n in range(2, 13))])


@pytest.fixture
async def app_connections(settings: Settings, database_urls: DatabaseUrls) -> AsyncIterator[list[asyncpg.Connection]]:
    """Two connections as the application role, for creations that race each other."""
    connections = [await connect(settings, dsn=database_urls.app) for _ in range(2)]
    yield connections
    for connection in connections:
        await connection.close()


async def test_racing_creators_of_one_title_both_succeed(
    client: Client, staff: Account, admin_conn: asyncpg.Connection, app_connections: list[asyncpg.Connection]
) -> None:
    """The race made certain: the first creation holds its slug uncommitted while the second
    picks the same one and waits for it at the unique index; once the first commits, the second
    tries again and takes the next number."""
    author_id = await add_author(client, staff)
    book = msgspec.convert({"title": "Race", "author_id": author_id, "price": "1"}, NewBook, strict=False)
    first, second = app_connections
    first_tx = first.transaction()
    await first_tx.start()
    first_id = await service.create_book(first, book=book)

    async def create_second() -> Any:
        async with second.transaction():
            return await service.create_book(second, book=book)

    second_task = asyncio.create_task(create_second())

    async def waiting_or_done() -> bool:
        state = await admin_conn.fetchval(
            "SELECT wait_event_type FROM pg_stat_activity WHERE pid = $1", second.get_server_pid()
        )
        return second_task.done() or state == "Lock"

    await wait_until(waiting_or_done, "the second creation waits for the first's slug")
    await first_tx.commit()
    second_id = await second_task
    assert await first.fetchval("SELECT slug FROM books WHERE id = $1", first_id) == "race"
    assert await first.fetchval("SELECT slug FROM books WHERE id = $1", second_id) == "race-2"


async def test_a_published_book_without_published_at_is_published_now(client: Client, staff: Account) -> None:
    author_id = await add_author(client, staff)
    before = datetime.now(UTC)
    created = await create(client, staff, new_book(author_id, "Fresh", is_published=True))
    assert created.status_code == 201, created.text
    published_at = datetime.fromisoformat(created.json()["published_at"])
    assert before <= published_at <= datetime.now(UTC)
    listed = (await client.get("/books")).json()["items"]
    assert [b["slug"] for b in listed] == ["fresh"]

    draft = await create(client, staff, new_book(author_id, "Draft"))
    assert draft.json()["published_at"] is None
    given = await create(client, staff, new_book(author_id, "Old", is_published=True, published_at=EPOCH.isoformat()))
    assert datetime.fromisoformat(given.json()["published_at"]) == EPOCH
    explicit = await create(client, staff, new_book(author_id, "Explicit", slug="explicit", is_published=True))
    assert explicit.status_code == 201, explicit.text
    assert explicit.json()["published_at"] is not None


async def test_bad_slugs_and_titles_are_still_400(client: Client, staff: Account) -> None:
    author_id = await add_author(client, staff)
    assert_problem(await create(client, staff, new_book(author_id, "T", slug="Not A Slug")), 400, field="slug")
    assert_problem(await create(client, staff, new_book(author_id, "T", slug="search")), 400, field="slug")
    assert_problem(await create(client, staff, new_book(author_id, "   ")), 400, field="title")
    assert_problem(await create(client, staff, {"author_id": author_id, "price": "1"}), 400, field="title")

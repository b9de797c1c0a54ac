"""`bookshop seed --books N`: a generated catalog has the shape searches and listings rely on.

The property tests read one catalog, generated once for the module in a database of its own.
"""

import statistics
from collections.abc import AsyncIterator

import asyncpg
import pytest

from bookshop import cli
from bookshop.catalog import seed
from bookshop.db.pool import connect
from bookshop.db.queries import queries
from bookshop.db.urls import DatabaseUrls
from bookshop.settings import Settings
from tests.support.accounts import TEST_PEPPER
from tests.support.cli import run
from tests.support.databases import cloned_database

BOOKS, USERS, REVIEWS, AUTHORS, TAGS = 2_000, 300, 3_000, 250, 60


def isbn13_is_valid(isbn: str) -> bool:
    digits = [int(digit) for digit in isbn]
    return len(digits) == 13 and sum(d * (3 if i % 2 else 1) for i, d in enumerate(digits)) % 10 == 0


async def matches(conn: asyncpg.Connection, words: str) -> int:
    found: int = await conn.fetchval(
        "SELECT count(*) FROM books WHERE search @@ websearch_to_tsquery('english', $1)", words
    )
    return found


@pytest.fixture(scope="module")
async def catalog_conn(
    admin_conn: asyncpg.Connection, template_urls: DatabaseUrls, server_url: str
) -> AsyncIterator[asyncpg.Connection]:
    """The owner's connection to a fresh database of the module's own, for the catalog below."""
    async with cloned_database(admin_conn, server_url, "test_seed") as urls:
        connection = await connect(Settings(), dsn=urls.owner)
        yield connection
        await connection.close()


@pytest.fixture(scope="module")
async def catalog(catalog_conn: asyncpg.Connection) -> seed.SeedResult:
    """A small catalog, generated as the owner, in batches smaller than the books."""
    plan = seed.plan(books=BOOKS, users=USERS, reviews=REVIEWS, authors=AUTHORS, tags=TAGS, batch_size=700)
    return await seed.generate(catalog_conn, catalog=plan)


async def test_it_writes_the_counts_asked_for(catalog_conn: asyncpg.Connection, catalog: seed.SeedResult) -> None:
    conn = catalog_conn
    assert (catalog.books, catalog.users, catalog.reviews, catalog.authors, catalog.tags) == (
        BOOKS,
        USERS,
        REVIEWS,
        AUTHORS,
        TAGS,
    )
    assert (catalog.first_book, catalog.last_book) == (1, BOOKS)
    counts = await conn.fetchrow(
        """SELECT (SELECT count(*) FROM books) AS books, (SELECT count(*) FROM users) AS users,
                  (SELECT count(*) FROM reviews) AS reviews, (SELECT count(*) FROM authors) AS authors,
                  (SELECT count(*) FROM tags) AS tags, (SELECT count(*) FROM book_tags) AS book_tags"""
    )
    assert dict(counts) == {
        "books": BOOKS,
        "users": USERS,
        "reviews": REVIEWS,
        "authors": AUTHORS,
        "tags": TAGS,
        "book_tags": catalog.book_tags,
    }


async def test_books_look_like_a_real_catalog(catalog_conn: asyncpg.Connection, catalog: seed.SeedResult) -> None:
    conn = catalog_conn
    books = await conn.fetch(
        """SELECT slug, isbn, title, description, price, stock, is_published, published_at, deleted_at, metadata,
                  (SELECT count(*) FROM book_tags WHERE book_id = id) AS tags
           FROM books"""
    )
    assert len({book["slug"] for book in books}) == len({book["isbn"] for book in books}) == BOOKS
    assert all(isbn13_is_valid(book["isbn"]) and book["isbn"].startswith("978") for book in books)
    assert all(2 <= len(book["title"].removeprefix("The ").split()) <= 6 for book in books)
    assert all(20 <= len(book["description"].split()) <= 63 for book in books)
    assert all(1 <= book["tags"] <= 4 for book in books)
    assert all(0 <= book["stock"] <= 200 and book["price"] >= 0 for book in books)
    assert all(book["price"] == round(book["price"], 2) for book in books)
    assert statistics.median(book["price"] for book in books) < 25

    published = [book for book in books if book["is_published"]]
    assert all(book["published_at"] is not None for book in published)
    assert 0.85 < len(published) / BOOKS < 0.97
    years = {book["published_at"].year for book in published}
    assert max(years) - min(years) >= 18
    deleted = sum(book["deleted_at"] is not None for book in books)
    assert 0 < deleted < BOOKS * 0.03
    covers = sum("cover" in book["metadata"] for book in books)
    assert 0.6 < covers / BOOKS < 0.8


async def test_authors_and_tags_are_skewed(catalog_conn: asyncpg.Connection, catalog: seed.SeedResult) -> None:
    conn = catalog_conn
    per_author = [
        row["books"]
        for row in await conn.fetch(
            "SELECT count(b.id) AS books FROM authors a LEFT JOIN books b ON b.author_id = a.id GROUP BY a.id"
        )
    ]
    assert max(per_author) >= 20 * statistics.median(per_author)
    assert sum(books == 0 for books in per_author) >= AUTHORS * 0.05  # some have none
    assert sum(books in (1, 2) for books in per_author) >= AUTHORS * 0.25  # many have one or two

    per_tag = [row["books"] for row in await conn.fetch("SELECT count(*) AS books FROM book_tags GROUP BY tag_id")]
    assert max(per_tag) >= 5 * statistics.median(per_tag)


async def test_search_has_rare_and_common_words(catalog_conn: asyncpg.Connection, catalog: seed.SeedResult) -> None:
    conn = catalog_conn
    # Planted: books 500 and 1,500 mention marmalade; 2,000 books are too few for the rarer two.
    assert await matches(conn, "marmalade") == BOOKS // seed.RARE_WORDS["marmalade"]
    assert await matches(conn, "quasar") == await matches(conn, "zeppelin") == 0
    night, light, house = [await matches(conn, word) for word in seed.COMMON_WORDS]
    assert night > 0.9 * BOOKS
    assert light > 0.5 * BOOKS
    assert house > 0.35 * BOOKS
    # The tail of the list: each word in a few books, not none and not most.
    assert 0 < await matches(conn, "glove") < 0.03 * BOOKS
    assert await matches(conn, "night river") < night


async def test_reviews_are_one_per_customer_and_book_and_mostly_good(
    catalog_conn: asyncpg.Connection, catalog: seed.SeedResult
) -> None:
    conn = catalog_conn
    stats = await conn.fetchrow(
        """SELECT count(*) AS reviews, count(DISTINCT (book_id, user_id)) AS pairs,
                  min(rating) AS lowest, max(rating) AS highest, avg(rating)::float8 AS mean,
                  count(*) FILTER (WHERE rating >= 4)::float8 / count(*) AS good,
                  count(*) FILTER (WHERE NOT b.is_published) AS of_unpublished,
                  count(*) FILTER (WHERE body <> '') ::float8 / count(*) AS with_text
           FROM reviews JOIN books b ON b.id = book_id"""
    )
    assert stats["reviews"] == stats["pairs"] == REVIEWS
    assert (stats["lowest"], stats["highest"]) == (1, 5)
    assert 3.6 < stats["mean"] < 4.4
    assert stats["good"] > 0.65
    assert stats["of_unpublished"] == 0
    assert 0.5 < stats["with_text"] < 0.7
    reviewers = await conn.fetchval("SELECT count(DISTINCT user_id) FROM reviews")
    assert reviewers > USERS * 0.5
    emails = await conn.fetchval("SELECT count(*) FROM users WHERE email LIKE '%@customers.example'")
    assert emails == USERS


async def test_a_second_run_adds_after_the_first(conn: asyncpg.Connection) -> None:
    first = await seed.generate(conn, catalog=seed.plan(books=300, users=40, tags=20))
    second = await seed.generate(conn, catalog=seed.plan(books=200, users=30, tags=30))
    assert (second.first_book, second.last_book) == (301, 500)
    totals = await conn.fetchrow(
        """SELECT count(*) AS books, count(DISTINCT slug) AS slugs, count(DISTINCT isbn) AS isbns,
                  (SELECT count(*) FROM users) AS users, (SELECT count(*) FROM tags) AS tags,
                  (SELECT count(*) FROM reviews) AS reviews
           FROM books"""
    )
    assert dict(totals) == {
        "books": 500,
        "slugs": 500,
        "isbns": 500,
        "users": 70,
        "tags": 30,  # the same list: the second run reuses the first 20 and adds 10
        "reviews": first.reviews + second.reviews,
    }


async def test_it_refuses_when_a_book_holds_an_isbn_it_would_generate(conn: asyncpg.Connection) -> None:
    author = await conn.fetchval("INSERT INTO authors (name) VALUES ('Existing Author') RETURNING id")
    await conn.execute(
        """INSERT INTO books (slug, isbn, title, author_id, price)
           VALUES ('an-existing-book', '9780000000109', 'An Existing Book', $1, 10)""",
        author,
    )
    with pytest.raises(seed.SeedRefused, match="have ISBNs this run would generate"):
        await seed.generate(conn, catalog=seed.plan(books=100))
    assert await conn.fetchval("SELECT count(*) FROM books") == 1
    assert await conn.fetchval("SELECT count(*) FROM authors") == 1


def test_the_plan_refuses_what_cannot_be_met() -> None:
    with pytest.raises(seed.SeedRefused, match="--tags"):
        seed.plan(books=10, tags=seed.MAX_TAGS + 1)
    with pytest.raises(seed.SeedRefused, match="need more customers"):
        seed.plan(books=10, users=1, reviews=10)
    assert seed.plan(books=1_000_000) == seed.CatalogPlan(
        books=1_000_000, authors=125_000, tags=100, users=50_000, reviews=1_000_000
    )
    assert seed.plan(books=10) == seed.CatalogPlan(books=10, authors=1, tags=100, users=1, reviews=5)


async def test_the_vocabulary_is_two_thousand_distinct_search_terms(conn: asyncpg.Connection) -> None:
    words: list[str] = (await queries.catalog.seed_vocabulary(conn))["words"]
    assert len(words) == len(set(words)) == 2_000
    lexemes = await conn.fetchval(
        "SELECT count(DISTINCT lexeme) FROM unnest($1::text[]) AS w, unnest(to_tsvector('english', w)) AS t",
        words,
    )
    assert lexemes == 2_000  # no stop words, and no two words share a stem
    assert not set(seed.RARE_WORDS) & set(words)
    assert list(seed.COMMON_WORDS) == words[: len(seed.COMMON_WORDS)]


def test_the_command_seeds_as_the_owner_with_progress(database_urls: DatabaseUrls) -> None:
    env = {"DATABASE_URL": database_urls.app, "MIGRATIONS_DATABASE_URL": database_urls.owner}
    seeded = run(
        "seed", "--books", "120", "--users", "15", "--reviews", "100", env={**env, "API_KEY_PEPPER": TEST_PEPPER}
    )
    assert seeded.returncode == 0, seeded.stderr
    assert "added 120 books (numbers 1 to 120)" in seeded.stderr
    assert "100 reviews" in seeded.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["seed", "demo", "--books", "10"], "not both"),
        (["seed"], "give a data set name"),
        (["seed", "--tags", "5"], "give a data set name"),
        (["seed", "--books", "10", "--tags", "601"], "--tags must be between 0 and 600"),
    ],
)
def test_the_command_refuses_unclear_requests_before_connecting(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://nobody@127.0.0.1:1/none")
    assert cli.main(args) == 2
    assert message in capsys.readouterr().err

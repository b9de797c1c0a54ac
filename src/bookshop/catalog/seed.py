"""A realistic catalog for development and benchmarks: `bookshop seed --books N`.

Every row is made in SQL (sql/catalog/seed.sql), one statement per batch of books, so a million
books take minutes, not hours. Python only plans the run, numbers the batches and reports
progress. It runs as the owner, like a migration or a test fixture: data loading is owner work,
and the owner is not subject to row-level security.

A run adds to what is there. Its books are numbered after the highest number any existing
slug ends in, and its customers after the highest generated customer's number, so slugs,
ISBNs and emails never collide with earlier rows; its tags are the same fixed list every run
reuses. It refuses to start when another book already holds an ISBN it would generate, and the
whole run is one transaction: it adds everything or, when stopped or failing, nothing.

What searches can count on (see the README's "A realistic data set"): titles and descriptions
draw from 2,000 words, the first ones much more often; COMMON_WORDS are in most books and
RARE_WORDS in exactly one book in so many.
"""

import time
from typing import Literal, Protocol
from uuid import UUID

import msgspec

from bookshop.db.pool import Connection
from bookshop.db.queries import queries

Phase = Literal["tags", "authors", "books", "customers", "reviews", "analyze"]

BATCH_SIZE = 50_000
DEFAULT_TAGS = 100
MAX_TAGS = 600  # 50 genres, each plain and with 11 qualifiers
LAST_NUMBER = 999_999_999  # a book's number is nine digits of its ISBN
# Planted, outside the word list: one book in how many mentions each (books 500, 1,500, 2,500, …
# for marmalade; 2,500, 12,500, … for quasar; 7,500, 107,500, … for zeppelin).
RARE_WORDS = {"marmalade": 1_000, "quasar": 10_000, "zeppelin": 100_000}
# The front of the word list: in about 96%, 59% and 46% of books.
COMMON_WORDS = ("night", "light", "house")


class SeedRefused(Exception):
    """The run would not add cleanly to this database, or was asked for something impossible."""


class CatalogPlan(msgspec.Struct, frozen=True, kw_only=True):
    """How many rows of each kind one run adds."""

    books: int
    authors: int
    tags: int
    users: int
    reviews: int
    batch_size: int = BATCH_SIZE


class SeedResult(msgspec.Struct, frozen=True, kw_only=True):
    """What a run added, and the numbers its books carry in their slugs and ISBNs."""

    first_book: int
    last_book: int
    books: int
    book_tags: int
    authors: int
    tags: int
    users: int
    reviews: int
    seconds: float


class Progress(Protocol):
    """Told as a phase starts (rows=0) and after each of its statements, with the rows it wrote."""

    def __call__(self, phase: Phase, rows: int) -> None: ...


def plan(
    *,
    books: int,
    authors: int | None = None,
    tags: int | None = None,
    users: int | None = None,
    reviews: int | None = None,
    batch_size: int = BATCH_SIZE,
) -> CatalogPlan:
    """A plan with defaults that scale with the books: an author per 8 books, a customer per 20,
    a review per book (fewer when the customers are too few) and 100 tags. Raises SeedRefused for
    counts that cannot be met."""
    users = max(1, books // 20) if users is None else users
    catalog = CatalogPlan(
        books=books,
        authors=max(1, books // 8) if authors is None else authors,
        tags=DEFAULT_TAGS if tags is None else tags,
        users=users,
        reviews=min(books, users * books // 2) if reviews is None else reviews,
        batch_size=batch_size,
    )
    if catalog.books < 1 or catalog.authors < 1:
        raise SeedRefused("--books and --authors must be at least 1")
    if not 0 <= catalog.tags <= MAX_TAGS:
        raise SeedRefused(f"--tags must be between 0 and {MAX_TAGS}")
    if catalog.users < 0 or catalog.reviews < 0 or catalog.batch_size < 1:
        raise SeedRefused("--users and --reviews must not be negative")
    if catalog.reviews > catalog.users * catalog.books // 2:
        raise SeedRefused(
            f"{catalog.reviews} reviews need more customers: one per customer and book at most,"
            f" from {catalog.users} customers on {catalog.books} books"
        )
    return catalog


def batches(first: int, count: int, size: int) -> list[tuple[int, int]]:
    """(first number, count) of each batch that numbers first .. first + count - 1."""
    return [(start, min(size, first + count - start)) for start in range(first, first + count, size)]


def _report(progress: Progress | None, phase: Phase, rows: int) -> None:
    if progress is not None:
        progress(phase, rows)


async def generate(conn: Connection, *, catalog: CatalogPlan, progress: Progress | None = None) -> SeedResult:
    """Adds the planned catalog in one transaction on an owner's connection, then ANALYZEs."""
    started = time.monotonic()
    vocabulary = await queries.catalog.seed_vocabulary(conn)
    words: list[str] = vocabulary["words"]
    first_names: list[str] = vocabulary["first_names"]
    last_names: list[str] = vocabulary["last_names"]
    size = catalog.batch_size
    async with conn.transaction():
        await queries.catalog.seed_prepare_loading(conn)  # waits for a run in progress to end
        numbering = await queries.catalog.seed_numbering(conn)
        first_book: int = numbering["last_book"] + 1
        last_book = first_book + catalog.books - 1
        if last_book > LAST_NUMBER:
            raise SeedRefused(f"book numbers would pass {LAST_NUMBER:,}: existing slugs end in numbers that high")
        taken: int = await queries.catalog.seed_count_taken_isbns(conn, first=first_book, last=last_book)
        if taken:
            raise SeedRefused(
                f"{taken} existing book(s) have ISBNs this run would generate (978{first_book:09d}x to"
                f" 978{last_book:09d}x); nothing was added"
            )
        await queries.catalog.seed_set_random(conn, seed=(first_book % 9973) / 9973)

        _report(progress, "tags", 0)
        tag_ids: list[UUID] = await queries.catalog.seed_tags(conn, count=catalog.tags)
        _report(progress, "tags", len(tag_ids))

        _report(progress, "authors", 0)
        author_ids: list[UUID] = []
        for _, count in batches(1, catalog.authors, size):
            author_ids += await queries.catalog.seed_authors(
                conn, count=count, words=words, first_names=first_names, last_names=last_names
            )
            _report(progress, "authors", count)

        _report(progress, "books", 0)
        books = book_tags = 0
        for first, count in batches(first_book, catalog.books, size):
            written = await queries.catalog.seed_books(
                conn, first=first, count=count, words=words, author_ids=author_ids, tag_ids=tag_ids
            )
            books += written["books"]
            book_tags += written["book_tags"]
            _report(progress, "books", count)

        _report(progress, "customers", 0)
        user_ids: list[UUID] = []
        for first, count in batches(numbering["last_customer"] + 1, catalog.users, size):
            user_ids += await queries.catalog.seed_customers(
                conn, first=first, count=count, first_names=first_names, last_names=last_names
            )
            _report(progress, "customers", count)

        _report(progress, "reviews", 0)
        reviews = 0
        if catalog.reviews and user_ids:
            # Each batch reviews its own books, so a (book, customer) pair cannot repeat across
            # batches; the reviews are shared out in proportion to the batch's books.
            for first, count in batches(first_book, catalog.books, size):
                done = first - first_book
                share = catalog.reviews * (done + count) // catalog.books - catalog.reviews * done // catalog.books
                written_reviews: int = await queries.catalog.seed_reviews(
                    conn, first_book=first, last_book=first + count - 1, count=share, words=words, user_ids=user_ids
                )
                reviews += written_reviews
                _report(progress, "reviews", share)

        _report(progress, "analyze", 0)
        await queries.catalog.seed_analyze(conn)
        _report(progress, "analyze", 1)
    return SeedResult(
        first_book=first_book,
        last_book=last_book,
        books=books,
        book_tags=book_tags,
        authors=len(author_ids),
        tags=len(tag_ids),
        users=len(user_ids),
        reviews=reviews,
        seconds=time.monotonic() - started,
    )

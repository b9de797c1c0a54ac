"""The catalog context's operations over sql/catalog/: authors, books, tags and reviews."""

import re
import unicodedata
from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

import msgspec

from bookshop.catalog.schemas import (
    RESERVED_SLUGS,
    Author,
    AuthorMatch,
    AuthorStat,
    AuthorUpdate,
    Book,
    BookItem,
    BookUpdate,
    NewBook,
    Review,
    SearchHit,
    Tag,
    TitleSuggestion,
)
from bookshop.db.params import update_params
from bookshop.db.pool import Connection
from bookshop.db.queries import queries
from bookshop.db.rows import upserted
from bookshop.http.pagination import Page, PageParams

q = queries.catalog


async def create_author(conn: Connection, *, name: str, bio: str) -> Author:
    return Author(**await q.create_author(conn, name=name, bio=bio))


async def get_author(conn: Connection, *, author_id: UUID) -> Author | None:
    row = await q.get_author(conn, id=author_id)
    return None if row is None else Author(**row)


async def update_author(conn: Connection, *, author_id: UUID, changes: AuthorUpdate) -> Author | None:
    row = await q.update_author(conn, id=author_id, **update_params(changes))
    return None if row is None else Author(**row)


async def delete_author(conn: Connection, *, author_id: UUID) -> bool:
    return await q.delete_author(conn, id=author_id) is not None


async def list_authors(conn: Connection, *, after: UUID | None, limit: int) -> list[Author]:
    return [Author(**row) async for row in q.list_authors(conn, after_id=after, limit=limit)]


async def search_authors(conn: Connection, *, text: str, limit: int) -> list[AuthorMatch]:
    return [AuthorMatch(**row) async for row in q.search_authors(conn, q=text, limit=limit)]


async def author_stats(conn: Connection, *, limit: int) -> list[AuthorStat]:
    return [AuthorStat(**row) async for row in q.author_stats(conn, limit=limit)]


# Room for the longest suffix create_book_with_derived_slug adds ("-" and 8 hex digits).
SLUG_BASE_MAX = 200 - 9
# Letters NFKD does not take apart into a base letter and marks, spelled as their readers do.
_SPELLED = str.maketrans(
    {"ß": "ss", "æ": "ae", "œ": "oe", "ø": "o", "đ": "d", "ð": "d", "ł": "l", "þ": "th", "\u0131": "i"}
)
_APOSTROPHES = re.compile("['\u2019]")
_WORD = re.compile(r"[a-z0-9]+")


def slugify(title: str) -> str | None:
    """A slug made from a title: its ASCII words, lower case, joined by '-'. Accented letters
    lose their marks (NFKD), a few others are spelled out (ß as ss), and what has no ASCII
    form is dropped; words are kept whole up to SLUG_BASE_MAX characters. None when no word
    is left (the database then names the book book-<part of its id>). Never a reserved slug."""
    spelled = unicodedata.normalize("NFKD", title.lower().translate(_SPELLED))
    ascii_only = _APOSTROPHES.sub("", spelled).encode("ascii", "ignore").decode()
    slug = ""
    for word in _WORD.findall(ascii_only):
        longer = f"{slug}-{word}" if slug else word[:SLUG_BASE_MAX]
        if len(longer) > SLUG_BASE_MAX:
            break
        slug = longer
    if slug in RESERVED_SLUGS:
        slug = f"{slug}-book"
    return slug or None


class NoFreeSlug(Exception):
    """Every try at a slug made from the title lost a race to another book's."""


# Each try that finds no row lost a race to a creator that committed meanwhile, and the next
# sees that one's slug; this many losses in a row would take as many racing creators.
SLUG_TRIES = 10


async def create_book(conn: Connection, *, book: NewBook) -> UUID:
    """Adds a book; its id. Without a slug, one is made from the title and is unique among live
    books; raises NoFreeSlug if that failed SLUG_TRIES times (see the query)."""
    fields = {
        "isbn": book.isbn,
        "title": book.title,
        "subtitle": book.subtitle,
        "description": book.description,
        "author_id": book.author_id,
        "price": book.price,
        "stock": book.stock,
        "is_published": book.is_published,
        "published_at": book.published_at,
        "metadata": book.metadata,
    }
    if book.slug is not None:
        book_id: UUID = await q.create_book(conn, slug=book.slug, **fields)
        return book_id
    base = slugify(book.title)
    for _ in range(SLUG_TRIES):
        derived: UUID | None = await q.create_book_with_derived_slug(conn, base=base, **fields)
        if derived is not None:
            return derived
    raise NoFreeSlug


async def get_book(conn: Connection, *, book_id: UUID | None = None, slug: str | None = None) -> Book | None:
    """A live book with its author, tags and rating summary, in one round trip."""
    row = await q.get_book_detail(conn, id=book_id, slug=slug)
    return None if row is None else msgspec.convert(dict(row), Book)


async def update_book(conn: Connection, *, book_id: UUID, changes: BookUpdate) -> bool:
    return await q.update_book(conn, id=book_id, **update_params(changes)) is not None


async def soft_delete_book(conn: Connection, *, book_id: UUID) -> bool:
    return await q.soft_delete_book(conn, id=book_id) is not None


async def restore_book(conn: Connection, *, book_id: UUID) -> bool:
    return await q.restore_book(conn, id=book_id) is not None


def _items(rows: list[Any]) -> list[BookItem]:
    return [msgspec.convert(dict(row), BookItem) for row in rows]


async def list_books(conn: Connection, *, after: tuple[datetime, UUID] | None, limit: int) -> list[BookItem]:
    """One keyset page of the public listing, newest first, starting after (published_at, id)."""
    after_published_at, after_id = after if after is not None else (None, None)
    rows = q.list_books(conn, after_published_at=after_published_at, after_id=after_id, limit=limit)
    return _items([row async for row in rows])


async def list_books_page(conn: Connection, *, params: PageParams) -> Page[BookItem]:
    rows = [
        row
        async for row in q.list_books_page(
            conn, limit=params.per_page, offset=params.offset, exact_limit=params.exact_total_limit
        )
    ]
    counted = rows[0]  # always there, with the total; past the last page its book is NULL
    # A row's total columns are not BookItem fields, and convert leaves them out.
    listed = _items([row for row in rows if row["id"] is not None])
    return Page.of(listed, params=params, total=counted["total"], total_exact=counted["total_exact"])


async def list_author_books(conn: Connection, *, author_id: UUID, limit: int) -> list[BookItem]:
    return _items([row async for row in q.list_author_books(conn, author_id=author_id, limit=limit)])


# A query is broad when at least one in BROAD_SHARE of the newest books matches: the walk to its
# rank_limit newest matches then reads about rank_limit * BROAD_SHARE rows. The probe reads the
# rank_limit newest books, at most PROBE_SAMPLE: 200 tell a quarter from a tenth (a standard
# deviation is 3 points), and cost 0.2 ms at 1M books where 1,000 cost 1.2 ms.
BROAD_SHARE = 4
PROBE_SAMPLE = 200


async def search_books(
    conn: Connection,
    *,
    text: str,
    tag: str | None,
    author_id: UUID | None,
    min_price: Decimal | None,
    max_price: Decimal | None,
    after: tuple[float, UUID] | None,
    limit: int,
    rank_limit: int,
) -> tuple[list[SearchHit], bool]:
    """The page of hits, and whether their ranking was bounded: a broad query (BROAD_SHARE)
    ranks only its `rank_limit` newest matches (ranking every match of a word most books hold
    reads most of the table); any other ranks them all."""
    after_rank, after_id = after if after is not None else (None, None)
    filters = {"q": text, "tag": tag, "author_id": author_id, "min_price": min_price, "max_price": max_price}
    sample = min(rank_limit, PROBE_SAMPLE)
    broad = await q.count_newest_matches(conn, **filters, sample=sample) * BROAD_SHARE >= sample
    page = {"after_rank": after_rank, "after_id": after_id, "limit": limit}
    if not broad:
        return [msgspec.convert(dict(row), SearchHit) async for row in q.search_books(conn, **filters, **page)], False
    rows = [row async for row in q.search_books_bounded(conn, **filters, rank_limit=rank_limit, **page)]
    # Bounded when the candidates filled the bound (then some matches went unranked); a page
    # past the last hit cannot tell, and keeps the broad query's answer.
    bounded = not rows or rows[0]["candidates"] == rank_limit
    hits = [msgspec.convert(dict(row), SearchHit) for row in rows]  # candidates is no SearchHit field
    return hits, bounded


async def suggest_titles(conn: Connection, *, text: str, limit: int) -> list[TitleSuggestion]:
    return [TitleSuggestion(**row) async for row in q.suggest_titles(conn, q=text, limit=limit)]


async def create_tag(conn: Connection, *, slug: str, name: str) -> Tag:
    return Tag(**await q.create_tag(conn, slug=slug, name=name))


async def list_tags(conn: Connection) -> list[Tag]:
    return [Tag(**row) async for row in q.list_tags(conn)]


async def replace_book_tags(conn: Connection, *, book_id: UUID, slugs: list[str]) -> int:
    """Sets the book's tags to these; returns how many of the slugs exist. Run it in a
    transaction and roll back when that is fewer than asked for."""
    found: int = await q.replace_book_tags(conn, book_id=book_id, slugs=slugs)
    return found


async def put_review(
    conn: Connection, *, book_id: UUID, user_id: UUID, rating: int, body: str
) -> tuple[Review, bool] | None:
    row = await q.put_review(conn, book_id=book_id, user_id=user_id, rating=rating, body=body)
    return upserted(row, Review)


async def delete_review(conn: Connection, *, book_id: UUID, user_id: UUID) -> bool:
    return await q.delete_review(conn, book_id=book_id, user_id=user_id) is not None


async def list_reviews(conn: Connection, *, book_id: UUID, after: UUID | None, limit: int) -> list[Review] | None:
    """A public book's reviews; None when the book is deleted, unpublished or not there (one
    round trip: the query answers no row then, and a row of NULLs for a page without reviews)."""
    rows = [row async for row in q.list_reviews(conn, book_id=book_id, after_id=after, limit=limit)]
    if not rows:
        return None
    return [Review(**row) for row in rows if row["id"] is not None]

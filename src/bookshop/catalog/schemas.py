"""Request and response payloads of the catalog context."""

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any
from uuid import UUID

import msgspec

from bookshop.http.bodies import JsonObject, check_json_document
from bookshop.http.pagination import KeysetPage
from bookshop.http.text import END, NO_NUL, SHOWN, SLUG, decimal_text

Slug = Annotated[str, msgspec.Meta(max_length=200, pattern=SLUG, examples=["the-hobbit"])]
Isbn = Annotated[str, msgspec.Meta(pattern=rf"^97[89][0-9]{{10}}{END}", examples=["9780261102217"])]
Title = Annotated[str, msgspec.Meta(min_length=1, max_length=500, pattern=SHOWN)]
AuthorName = Annotated[str, msgspec.Meta(min_length=1, max_length=200, pattern=SHOWN)]
Subtitle = Annotated[str, msgspec.Meta(max_length=500, pattern=NO_NUL)]
Description = Annotated[str, msgspec.Meta(max_length=20_000, pattern=NO_NUL)]
Bio = Annotated[str, msgspec.Meta(max_length=10_000, pattern=NO_NUL)]
Stock = Annotated[int, msgspec.Meta(ge=0, le=2_147_483_647)]
Rating = Annotated[int, msgspec.Meta(ge=1, le=5)]
ReviewBody = Annotated[str, msgspec.Meta(max_length=5000, pattern=NO_NUL)]
TagSlug = Annotated[str, msgspec.Meta(max_length=100, pattern=SLUG)]
TagName = Annotated[str, msgspec.Meta(min_length=1, max_length=100, pattern=SHOWN)]
# numeric(12, 2): 0 to 9999999999.99, as text (http/text.py says why)
Price = Annotated[str, msgspec.Meta(pattern=decimal_text(10), examples=["12.50"])]
# With its offset: an instant, not a wall-clock reading (and a date-time by RFC 3339).
PublishedAt = Annotated[datetime, msgspec.Meta(tz=True)]

MAX_METADATA_DEPTH = 16
MAX_METADATA_BYTES = 64 * 1024
# Paths under /books that are not a book: a book with one of these slugs could not be read by slug.
RESERVED_SLUGS = frozenset({"search", "export", "import"})


def _check_slug(slug: str | msgspec.UnsetType) -> None:
    if isinstance(slug, str) and slug in RESERVED_SLUGS:
        raise ValueError(f"`slug` may not be {slug!r}: /books/{slug} is taken")


def _check_metadata(metadata: dict[str, Any] | msgspec.UnsetType) -> None:
    if isinstance(metadata, dict):
        check_json_document(metadata, field="metadata", max_depth=MAX_METADATA_DEPTH, max_bytes=MAX_METADATA_BYTES)


class AuthorIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    name: AuthorName
    bio: Bio = ""


class AuthorUpdate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    name: AuthorName | msgspec.UnsetType = msgspec.UNSET
    bio: Bio | msgspec.UnsetType = msgspec.UNSET


class Author(msgspec.Struct, kw_only=True):
    id: UUID
    name: str
    bio: str
    created_at: datetime
    updated_at: datetime


class AuthorMatch(msgspec.Struct, kw_only=True):
    id: UUID
    name: str
    score: float


class AuthorStat(msgspec.Struct, kw_only=True):
    id: UUID
    name: str
    books: int


class AuthorRef(msgspec.Struct):
    id: UUID
    name: str


class TagRef(msgspec.Struct):
    slug: str
    name: str


class RatingSummary(msgspec.Struct):
    count: int
    average: float | None


class NewBook(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """A book as POST /books takes it. Without a slug, one is made from the title (unique among
    live books: `-2`, `-3`... when taken); a published book without published_at is published
    at the time it is created."""

    slug: Slug | None = None
    title: Title
    author_id: UUID
    price: Price
    isbn: Isbn | None = None
    subtitle: Subtitle = ""
    description: Description = ""
    stock: Stock = 0
    is_published: bool = False
    published_at: PublishedAt | None = None
    metadata: JsonObject = msgspec.field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.slug is not None:
            _check_slug(self.slug)
        _check_metadata(self.metadata)


class BookIn(NewBook, kw_only=True):
    """A book in full: its slug given, and published_at for a published book. What an import
    row is (importer.BookRow)."""

    slug: Slug

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.is_published and self.published_at is None:
            raise ValueError("`published_at` is required for a published book")


class BookUpdate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Only the fields present change."""

    slug: Slug | msgspec.UnsetType = msgspec.UNSET
    title: Title | msgspec.UnsetType = msgspec.UNSET
    author_id: UUID | msgspec.UnsetType = msgspec.UNSET
    price: Price | msgspec.UnsetType = msgspec.UNSET
    isbn: Isbn | msgspec.UnsetType = msgspec.UNSET
    subtitle: Subtitle | msgspec.UnsetType = msgspec.UNSET
    description: Description | msgspec.UnsetType = msgspec.UNSET
    stock: Stock | msgspec.UnsetType = msgspec.UNSET
    is_published: bool | msgspec.UnsetType = msgspec.UNSET
    published_at: PublishedAt | msgspec.UnsetType = msgspec.UNSET
    metadata: JsonObject | msgspec.UnsetType = msgspec.UNSET

    def __post_init__(self) -> None:
        _check_slug(self.slug)
        _check_metadata(self.metadata)


class Book(msgspec.Struct, kw_only=True):
    """A book's detail page: the book, its author, its tags and its rating summary."""

    id: UUID
    slug: str
    isbn: str | None
    title: str
    subtitle: str
    description: str
    price: Decimal
    stock: int
    is_published: bool
    published_at: datetime | None
    metadata: dict[str, Any]
    author: AuthorRef
    tags: list[TagRef]
    rating: RatingSummary
    created_at: datetime
    updated_at: datetime


class BookItem(msgspec.Struct, kw_only=True):
    """A book in a listing."""

    id: UUID
    slug: str
    title: str
    subtitle: str
    price: Decimal
    published_at: datetime
    author: AuthorRef


class TagIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    slug: TagSlug
    name: TagName


class Tag(msgspec.Struct, kw_only=True):
    slug: str
    name: str
    books: int = 0


class BookTagsIn(msgspec.Struct, forbid_unknown_fields=True):
    tags: Annotated[list[TagSlug], msgspec.Meta(max_length=50)]


class ReviewIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    rating: Rating
    body: ReviewBody = ""


class Review(msgspec.Struct, kw_only=True):
    id: UUID
    book_id: UUID
    user_id: UUID
    rating: int
    body: str
    created_at: datetime
    updated_at: datetime


class SearchHit(BookItem, kw_only=True):
    """A listed book that matched, with its rank and a highlighted snippet."""

    rank: float
    snippet: str


class TitleSuggestion(msgspec.Struct):
    slug: str
    title: str


class SearchPage(KeysetPage[SearchHit]):
    """Ranked hits; `next` continues them. With no hit on the first page, `suggestions` offers
    titles close to the query (a misspelling, say). `ranking_bounded` is true when the query
    matched more books than the service ranks (SEARCH_RANK_LIMIT): then the hits are the newest
    of that many matches, ranked, and the pages end with them."""

    suggestions: list[TitleSuggestion]
    ranking_bounded: bool

"""HTTP routes of the catalog context: public reads, staff writes, reviews by signed-in users."""

from collections.abc import AsyncIterator
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any
from uuid import UUID

from litestar import Controller, Request, Response, delete, get, patch, post, put
from litestar.di import NamedDependency, Provide
from litestar.exceptions import HTTPException
from litestar.params import FromPath, JSONBody, PathParameter, QueryParameter
from litestar.response import Stream

from bookshop.catalog import importer, service
from bookshop.catalog.importer import ImportReport
from bookshop.catalog.schemas import (
    Author,
    AuthorIn,
    AuthorMatch,
    AuthorStat,
    AuthorUpdate,
    Book,
    BookItem,
    BookTagsIn,
    BookUpdate,
    NewBook,
    Review,
    ReviewIn,
    SearchPage,
    Tag,
    TagIn,
)
from bookshop.http.auth import provide_optional_caller
from bookshop.http.dependencies import CurrentCaller, Db, OptionalCaller, Staff
from bookshop.http.errors import FieldError, ProblemError, found
from bookshop.http.pagination import (
    Keyset,
    KeysetPage,
    KeysetParams,
    Limit,
    Page,
    PageParams,
    provide_optional_page_params,
)
from bookshop.http.responses import created_or_replaced, upsert_responses
from bookshop.http.text import NO_NUL, SLUG

EXPORT_MEDIA_TYPE = "application/x-ndjson"
IMPORT_FORMATS: dict[str, importer.Format] = {
    "application/x-ndjson": "ndjson",
    "application/jsonl": "ndjson",
    "text/csv": "csv",
}
IMPORT_MAX_BYTES = 64 * 1024 * 1024

IdOrSlug = Annotated[str, PathParameter(pattern=NO_NUL, description="The book's id or its slug.")]
BookId = Annotated[UUID, PathParameter(description="The book's id.")]
AuthorSearch = Annotated[
    str | None,
    QueryParameter(
        min_length=1, max_length=200, pattern=NO_NUL, description="A name, a fragment of one, or a near miss."
    ),
]

AUTHORS = Keyset("authors", key=lambda author: author.id, key_type=UUID)
BOOKS = Keyset("books", key=lambda book: (book.published_at, book.id), key_type=tuple[datetime, UUID])
SEARCH_HITS = Keyset("book-search", key=lambda hit: (hit.rank, hit.id), key_type=tuple[float, UUID])
REVIEWS = Keyset("reviews", key=lambda review: review.id, key_type=UUID)


def _book_key(book: str) -> dict[str, Any]:
    try:
        return {"book_id": UUID(book)}
    except ValueError:
        return {"slug": book}


class AuthorController(Controller):
    path = "/authors"
    tags = ["catalog"]

    @get(
        "/",
        dependencies=AUTHORS.dependencies,
        summary="Authors newest first by keyset, or with q the best matches for a name, fragment or near miss.",
    )
    async def list_authors(
        self, db: Db, keyset: NamedDependency[KeysetParams[UUID]], q: AuthorSearch = None
    ) -> KeysetPage[Author] | list[AuthorMatch]:
        async with db.read_connection() as conn:
            if q is not None:
                return await service.search_authors(conn, text=q, limit=keyset.limit)
            return keyset.page(await service.list_authors(conn, after=keyset.after, limit=keyset.limit))

    @get("/stats", summary="Live published books per author, authors with none included, most first.")
    async def stats(self, db: Db, limit: Limit = 20) -> list[AuthorStat]:
        async with db.read_connection() as conn:
            return await service.author_stats(conn, limit=limit)

    @get("/{author_id:uuid}", summary="One author.")
    async def get_author(self, db: Db, author_id: FromPath[UUID]) -> Author:
        async with db.read_connection() as conn:
            return found(await service.get_author(conn, author_id=author_id), f"No author {author_id}.")

    @get("/{author_id:uuid}/books", summary="An author's live published books, newest first.")
    async def author_books(self, db: Db, author_id: FromPath[UUID], limit: Limit = 20) -> list[BookItem]:
        async with db.read_connection() as conn:
            return await service.list_author_books(conn, author_id=author_id, limit=limit)

    @post("/", summary="Add an author (staff).")
    async def create_author(self, db: Db, staff: Staff, data: JSONBody[AuthorIn]) -> Author:
        async with db.transaction() as conn:
            return await service.create_author(conn, name=data.name, bio=data.bio)

    @patch("/{author_id:uuid}", summary="Change an author (staff).")
    async def update_author(
        self, db: Db, staff: Staff, author_id: FromPath[UUID], data: JSONBody[AuthorUpdate]
    ) -> Author:
        async with db.transaction() as conn:
            author = await service.update_author(conn, author_id=author_id, changes=data)
        return found(author, f"No author {author_id}.")

    @delete("/{author_id:uuid}", summary="Remove an author (staff); 409 while any book names them.")
    async def delete_author(self, db: Db, staff: Staff, author_id: FromPath[UUID]) -> None:
        async with db.transaction() as conn:
            found(await service.delete_author(conn, author_id=author_id), f"No author {author_id}.")


class BookController(Controller):
    path = "/books"
    tags = ["catalog"]

    @get(
        "/",
        dependencies={**BOOKS.dependencies, "numbered": Provide(provide_optional_page_params, sync_to_thread=False)},
        summary="Published books newest first: by keyset (limit, after) or, with page, numbered pages with a total.",
        description="Keyset pages cost the same at any depth. Numbered pages (page, per_page) walk every row before "
        "the page, so deep ones are slower: use them where a UI needs page numbers.",
    )
    async def list_books(
        self,
        db: Db,
        keyset: NamedDependency[KeysetParams[tuple[datetime, UUID]]],
        numbered: NamedDependency[PageParams | None],
    ) -> KeysetPage[BookItem] | Page[BookItem]:
        async with db.read_connection() as conn:
            if numbered is not None:
                return await service.list_books_page(conn, params=numbered)
            return keyset.page(await service.list_books(conn, after=keyset.after, limit=keyset.limit))

    @post(
        "/import",
        status_code=200,
        request_max_body_size=IMPORT_MAX_BYTES,
        opt={"body_media_types": sorted(IMPORT_FORMATS)},  # the body it reads itself, for http/openapi.py
        summary="Import books from NDJSON or CSV (staff): good rows land together, bad ones are reported by line.",
        description="Send application/x-ndjson (one JSON object per line) or text/csv (a header line). Rows are "
        "keyed by isbn: a known ISBN updates its book. The import runs in one transaction.",
    )
    async def import_books(self, db: Db, staff: Staff, request: Request[Any, Any, Any]) -> ImportReport:
        media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        format = IMPORT_FORMATS.get(media_type)
        if format is None:
            raise HTTPException(
                status_code=415,
                detail=f"Send one of {', '.join(sorted(IMPORT_FORMATS))}, not {media_type or 'nothing'}.",
            )
        data = await request.body()
        async with db.connection() as conn:
            return await importer.import_books(conn, rows=importer.parse(data, format))

    @get(
        "/export",
        summary="Every live book as NDJSON, streamed (the import's own shape).",
        description='One ExportedBook per line. A book without an ISBN has `"isbn": null`; an import refuses '
        "that line by its number, since import rows are keyed by ISBN. A response that fails partway ends without "
        "chunked encoding's last chunk: a client that sees no clean end has no complete export.",
        media_type=EXPORT_MEDIA_TYPE,
    )
    async def export_books(self, db: Db) -> Stream:
        async def lines() -> AsyncIterator[bytes]:
            async with db.read_connection() as conn:
                async for chunk in importer.export_ndjson(conn):
                    yield chunk

        return Stream(lines(), media_type=EXPORT_MEDIA_TYPE)

    @get(
        "/search",
        dependencies=SEARCH_HITS.dependencies,
        summary='Full-text search: websearch syntax ("phrase", or, -word), best match first, with snippets.',
        description="Filters combine. Pages continue by keyset (`after` = the previous page's `next`). "
        "A first page without hits carries title suggestions close to the query. A query matching more"
        " books than the service ranks (SEARCH_RANK_LIMIT, 1,000) ranks the newest of them: `ranking_bounded`.",
    )
    async def search(
        self,
        request: Request[Any, Any, Any],
        db: Db,
        keyset: NamedDependency[KeysetParams[tuple[float, UUID]]],
        q: Annotated[
            str, QueryParameter(min_length=1, max_length=200, pattern=NO_NUL, description="What to look for.")
        ],
        tag: Annotated[str | None, QueryParameter(max_length=100, pattern=SLUG, description="A tag slug.")] = None,
        author: Annotated[UUID | None, QueryParameter(description="An author id.")] = None,
        min_price: Annotated[float | None, QueryParameter(ge=0)] = None,
        max_price: Annotated[float | None, QueryParameter(ge=0)] = None,
    ) -> SearchPage:
        async with db.read_connection() as conn:
            hits, bounded = await service.search_books(
                conn,
                text=q,
                tag=tag,
                author_id=author,
                min_price=None if min_price is None else Decimal(str(min_price)),
                max_price=None if max_price is None else Decimal(str(max_price)),
                after=keyset.after,
                limit=keyset.limit,
                rank_limit=request.app.state.settings.search_rank_limit,
            )
            first_page = keyset.after is None
            suggestions = await service.suggest_titles(conn, text=q, limit=5) if not hits and first_page else []
        return SearchPage(items=hits, next=keyset.next(hits), suggestions=suggestions, ranking_bounded=bounded)

    @get(
        "/{book:str}",
        dependencies={"caller": Provide(provide_optional_caller)},
        summary="A book by id or slug, with its author, tags and rating summary (one database round trip).",
    )
    async def get_book(self, db: Db, caller: OptionalCaller, book: IdOrSlug) -> Book:
        async with db.read_connection() as conn:
            found_book = await service.get_book(conn, **_book_key(book))
        visible = found_book if found_book and (found_book.is_published or (caller and caller.is_staff)) else None
        return found(visible, f"No book {book}.")

    @post(
        "/",
        summary="Add a book (staff). Without a slug, one is made from the title; a published book without"
        " published_at is published now.",
    )
    async def create_book(self, db: Db, staff: Staff, data: JSONBody[NewBook]) -> Book:
        try:
            async with db.transaction() as conn:
                book_id = await service.create_book(conn, book=data)
                book = await service.get_book(conn, book_id=book_id)
        except service.NoFreeSlug:
            raise ProblemError(
                409, "no-free-slug", detail="Other books took every slug tried for this title: give a slug."
            ) from None
        assert book is not None
        return book

    # {book} as GET names it, so that the three share one path (the URL is one resource).
    @patch("/{book:uuid}", summary="Change some fields of a book (staff).")
    async def update_book(self, db: Db, staff: Staff, book: BookId, data: JSONBody[BookUpdate]) -> Book:
        async with db.transaction() as conn:
            updated = await service.update_book(conn, book_id=book, changes=data)
            changed = await service.get_book(conn, book_id=book) if updated else None
        return found(changed, f"No book {book}.")

    @delete("/{book:uuid}", summary="Soft-delete a book (staff): gone from listings, search and detail.")
    async def delete_book(self, db: Db, staff: Staff, book: BookId) -> None:
        async with db.transaction() as conn:
            found(await service.soft_delete_book(conn, book_id=book), f"No book {book}.")

    @post("/{book_id:uuid}/restore", status_code=200, summary="Restore a soft-deleted book (staff).")
    async def restore_book(self, db: Db, staff: Staff, book_id: FromPath[UUID]) -> Book:
        async with db.transaction() as conn:
            restored = await service.restore_book(conn, book_id=book_id)
            book = await service.get_book(conn, book_id=book_id) if restored else None
        return found(book, f"No book {book_id}.")

    @put("/{book_id:uuid}/tags", summary="Replace a book's tags atomically (staff); 422 naming unknown tags.")
    async def put_tags(self, db: Db, staff: Staff, book_id: FromPath[UUID], data: JSONBody[BookTagsIn]) -> Book:
        wanted = sorted(set(data.tags))
        async with db.transaction() as conn:
            found(await service.get_book(conn, book_id=book_id), f"No book {book_id}.")
            known = await service.replace_book_tags(conn, book_id=book_id, slugs=wanted)
            book = found(await service.get_book(conn, book_id=book_id), f"No book {book_id}.")
            if known < len(wanted):  # raising here rolls the replacement back
                unknown = sorted(set(wanted) - {tag.slug for tag in book.tags})
                raise ProblemError(
                    422,
                    "unknown-tags",
                    detail=f"Unknown tags: {', '.join(unknown)}",
                    errors=[FieldError(field="tags", message=f"No tag {slug}", source="body") for slug in unknown],
                )
        return book

    @put(
        "/{book_id:uuid}/reviews/me",
        summary="Create (201) or replace (200) your review of a book.",
        responses=upsert_responses(Review),
    )
    async def put_review(
        self, db: Db, caller: CurrentCaller, book_id: FromPath[UUID], data: JSONBody[ReviewIn]
    ) -> Response[Review]:
        async with db.transaction() as conn:
            stored = await service.put_review(
                conn, book_id=book_id, user_id=caller.user_id, rating=data.rating, body=data.body
            )
        review, created = found(stored, f"No book {book_id}.")
        return created_or_replaced(review, created=created)

    @delete("/{book_id:uuid}/reviews/me", summary="Remove your review of a book.")
    async def delete_review(self, db: Db, caller: CurrentCaller, book_id: FromPath[UUID]) -> None:
        async with db.transaction() as conn:
            deleted = await service.delete_review(conn, book_id=book_id, user_id=caller.user_id)
        found(deleted, f"You have no review of book {book_id}.")

    @get(
        "/{book_id:uuid}/reviews",
        dependencies=REVIEWS.dependencies,
        summary="A book's reviews, newest first, by keyset.",
    )
    async def list_reviews(
        self, db: Db, keyset: NamedDependency[KeysetParams[UUID]], book_id: FromPath[UUID]
    ) -> KeysetPage[Review]:
        async with db.read_connection() as conn:
            reviews = await service.list_reviews(conn, book_id=book_id, after=keyset.after, limit=keyset.limit)
        return keyset.page(found(reviews, f"No book {book_id}."))


class TagController(Controller):
    path = "/tags"
    tags = ["catalog"]

    @get("/", summary="Every tag with how many live published books carry it.")
    async def list_tags(self, db: Db) -> list[Tag]:
        async with db.read_connection() as conn:
            return await service.list_tags(conn)

    @post("/", summary="Add a tag (staff).")
    async def create_tag(self, db: Db, staff: Staff, data: JSONBody[TagIn]) -> Tag:
        async with db.transaction() as conn:
            return await service.create_tag(conn, slug=data.slug, name=data.name)

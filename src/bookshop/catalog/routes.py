"""HTTP routes of the catalog context: public reads, staff writes, reviews by signed-in users."""

from collections.abc import AsyncIterator
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any
from uuid import UUID

import msgspec
from litestar import Controller, Request, Response, delete, get, patch, post, put
from litestar.di import Provide
from litestar.exceptions import HTTPException, NotFoundException, ValidationException
from litestar.params import FromPath, JSONBody, QueryParameter
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
    BookIn,
    BookItem,
    BookKeysetPage,
    BookTagsIn,
    BookUpdate,
    Review,
    ReviewIn,
    ReviewPage,
    SearchPage,
    Tag,
    TagIn,
)
from bookshop.http.auth import ensure_staff, provide_optional_caller
from bookshop.http.dependencies import CurrentCaller, Db, OptionalCaller
from bookshop.http.pagination import After, Limit, Page, PageParams, next_cursor, read_cursor

IMPORT_FORMATS: dict[str, importer.Format] = {
    "application/x-ndjson": "ndjson",
    "application/jsonl": "ndjson",
    "text/csv": "csv",
}
IMPORT_MAX_BYTES = 64 * 1024 * 1024

AuthorSearch = Annotated[
    str | None, QueryParameter(min_length=1, max_length=200, description="A name, a fragment of one, or a near miss.")
]


def _book_not_found(key: object) -> NotFoundException:
    return NotFoundException(detail=f"No book {key}.")


def _book_key(id_or_slug: str) -> dict[str, Any]:
    try:
        return {"book_id": UUID(id_or_slug)}
    except ValueError:
        return {"slug": id_or_slug}


class AuthorController(Controller):
    path = "/authors"
    tags = ["catalog"]

    @get("/", summary="Authors newest first, or with q the best matches for a name, fragment or near miss.")
    async def list_authors(
        self, db: Db, q: AuthorSearch = None, limit: Limit = 20, after: Annotated[UUID | None, QueryParameter()] = None
    ) -> list[Author] | list[AuthorMatch]:
        async with db.connection() as conn:
            if q is not None:
                return await service.search_authors(conn, text=q, limit=limit)
            return await service.list_authors(conn, after=after, limit=limit)

    @get("/stats", summary="Live published books per author, authors with none included, most first.")
    async def stats(self, db: Db, limit: Limit = 20) -> list[AuthorStat]:
        async with db.connection() as conn:
            return await service.author_stats(conn, limit=limit)

    @get("/{author_id:uuid}", summary="One author.")
    async def get_author(self, db: Db, author_id: FromPath[UUID]) -> Author:
        async with db.connection() as conn:
            author = await service.get_author(conn, author_id=author_id)
        if author is None:
            raise NotFoundException(detail=f"No author {author_id}.")
        return author

    @get("/{author_id:uuid}/books", summary="An author's live published books, newest first.")
    async def author_books(self, db: Db, author_id: FromPath[UUID], limit: Limit = 20) -> list[BookItem]:
        async with db.connection() as conn:
            return await service.list_author_books(conn, author_id=author_id, limit=limit)

    @post("/", summary="Add an author (staff).")
    async def create_author(self, db: Db, caller: CurrentCaller, data: JSONBody[AuthorIn]) -> Author:
        ensure_staff(caller)
        async with db.transaction() as conn:
            return await service.create_author(conn, name=data.name, bio=data.bio)

    @patch("/{author_id:uuid}", summary="Change an author (staff).")
    async def update_author(
        self, db: Db, caller: CurrentCaller, author_id: FromPath[UUID], data: JSONBody[AuthorUpdate]
    ) -> Author:
        ensure_staff(caller)
        name = None if data.name is msgspec.UNSET else data.name
        bio = None if data.bio is msgspec.UNSET else data.bio
        async with db.transaction() as conn:
            author = await service.update_author(conn, author_id=author_id, name=name, bio=bio)
        if author is None:
            raise NotFoundException(detail=f"No author {author_id}.")
        return author

    @delete("/{author_id:uuid}", summary="Remove an author (staff); 409 while any book names them.")
    async def delete_author(self, db: Db, caller: CurrentCaller, author_id: FromPath[UUID]) -> None:
        ensure_staff(caller)
        async with db.transaction() as conn:
            deleted = await service.delete_author(conn, author_id=author_id)
        if not deleted:
            raise NotFoundException(detail=f"No author {author_id}.")


class BookController(Controller):
    path = "/books"
    tags = ["catalog"]

    @get(
        "/",
        summary="Published books newest first: by keyset (limit, after) or, with page, numbered pages with a total.",
        description="Keyset pages cost the same at any depth. Numbered pages (page, per_page) walk every row before "
        "the page, so deep ones are slower: use them where a UI needs page numbers.",
    )
    async def list_books(
        self,
        db: Db,
        request: Request[Any, Any, Any],
        limit: Limit = 20,
        after: After = None,
        page: Annotated[int | None, QueryParameter(ge=1, le=1_000_000, description="Numbered page, from 1.")] = None,
        per_page: Annotated[int, QueryParameter(ge=1, le=100)] = 20,
    ) -> BookKeysetPage | Page[BookItem]:
        if page is not None:
            async with db.connection() as conn:
                return await service.list_books_page(conn, params=PageParams(page=page, per_page=per_page))
        position = read_cursor(request, after, size=2, parse=lambda key: (datetime.fromisoformat(key[0]), UUID(key[1])))
        async with db.connection() as conn:
            items = await service.list_books(conn, after=position, limit=limit)
        last = items[-1] if len(items) == limit else None
        next_key = [last.published_at.isoformat(), str(last.id)] if last else None
        return BookKeysetPage(items=items, next=next_cursor(request, next_key))

    @post(
        "/import",
        status_code=200,
        request_max_body_size=IMPORT_MAX_BYTES,
        summary="Import books from NDJSON or CSV (staff): good rows land together, bad ones are reported by line.",
        description="Send application/x-ndjson (one JSON object per line) or text/csv (a header line). Rows are "
        "keyed by isbn: a known ISBN updates its book. The import runs in one transaction.",
    )
    async def import_books(self, db: Db, caller: CurrentCaller, request: Request[Any, Any, Any]) -> ImportReport:
        ensure_staff(caller)
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

    @get("/export", summary="Every live book as NDJSON, streamed (the import's own shape).")
    async def export_books(self, db: Db) -> Stream:
        async def lines() -> AsyncIterator[bytes]:
            async with db.connection() as conn:
                async for chunk in importer.export_ndjson(conn):
                    yield chunk

        return Stream(lines(), media_type="application/x-ndjson")

    @get(
        "/search",
        summary='Full-text search: websearch syntax ("phrase", or, -word), best match first, with snippets.',
        description="Filters combine. Pages continue by keyset (`after` = the previous page's `next`). "
        "A first page without hits carries title suggestions close to the query.",
    )
    async def search(
        self,
        db: Db,
        request: Request[Any, Any, Any],
        q: Annotated[str, QueryParameter(min_length=1, max_length=200, description="What to look for.")],
        tag: Annotated[str | None, QueryParameter(max_length=100, description="A tag slug.")] = None,
        author: Annotated[UUID | None, QueryParameter(description="An author id.")] = None,
        min_price: Annotated[float | None, QueryParameter(ge=0)] = None,
        max_price: Annotated[float | None, QueryParameter(ge=0)] = None,
        limit: Limit = 20,
        after: After = None,
    ) -> SearchPage:
        position = read_cursor(request, after, size=2, parse=lambda key: (float(key[0]), UUID(key[1])))
        async with db.connection() as conn:
            hits = await service.search_books(
                conn,
                text=q,
                tag=tag,
                author_id=author,
                min_price=None if min_price is None else Decimal(str(min_price)),
                max_price=None if max_price is None else Decimal(str(max_price)),
                after=position,
                limit=limit,
            )
            suggestions = await service.suggest_titles(conn, text=q, limit=5) if not hits and after is None else []
        last = hits[-1] if len(hits) == limit else None
        next_key = [repr(last.rank), str(last.id)] if last else None
        return SearchPage(items=hits, next=next_cursor(request, next_key), suggestions=suggestions)

    @get(
        "/{id_or_slug:str}",
        dependencies={"caller": Provide(provide_optional_caller)},
        summary="A book by id or slug, with its author, tags and rating summary (one database round trip).",
    )
    async def get_book(self, db: Db, caller: OptionalCaller, id_or_slug: FromPath[str]) -> Book:
        async with db.connection() as conn:
            book = await service.get_book(conn, **_book_key(id_or_slug))
        if book is None or (not book.is_published and not (caller and caller.is_staff)):
            raise _book_not_found(id_or_slug)
        return book

    @post("/", summary="Add a book (staff).")
    async def create_book(self, db: Db, caller: CurrentCaller, data: JSONBody[BookIn]) -> Book:
        ensure_staff(caller)
        async with db.transaction() as conn:
            book_id = await service.create_book(conn, book=data)
            book = await service.get_book(conn, book_id=book_id)
        assert book is not None
        return book

    @patch("/{book_id:uuid}", summary="Change some fields of a book (staff).")
    async def update_book(
        self, db: Db, caller: CurrentCaller, book_id: FromPath[UUID], data: JSONBody[BookUpdate]
    ) -> Book:
        ensure_staff(caller)
        async with db.transaction() as conn:
            found = await service.update_book(conn, book_id=book_id, changes=data)
            book = await service.get_book(conn, book_id=book_id) if found else None
        if book is None:
            raise _book_not_found(book_id)
        return book

    @delete("/{book_id:uuid}", summary="Soft-delete a book (staff): gone from listings, search and detail.")
    async def delete_book(self, db: Db, caller: CurrentCaller, book_id: FromPath[UUID]) -> None:
        ensure_staff(caller)
        async with db.transaction() as conn:
            if not await service.soft_delete_book(conn, book_id=book_id):
                raise _book_not_found(book_id)

    @post("/{book_id:uuid}/restore", status_code=200, summary="Restore a soft-deleted book (staff).")
    async def restore_book(self, db: Db, caller: CurrentCaller, book_id: FromPath[UUID]) -> Book:
        ensure_staff(caller)
        async with db.transaction() as conn:
            restored = await service.restore_book(conn, book_id=book_id)
            book = await service.get_book(conn, book_id=book_id) if restored else None
        if book is None:
            raise _book_not_found(book_id)
        return book

    @put("/{book_id:uuid}/tags", summary="Replace a book's tags atomically (staff); 400 naming unknown tags.")
    async def put_tags(
        self, db: Db, caller: CurrentCaller, book_id: FromPath[UUID], data: JSONBody[BookTagsIn]
    ) -> Book:
        ensure_staff(caller)
        wanted = sorted(set(data.tags))
        async with db.transaction() as conn:
            if await service.get_book(conn, book_id=book_id) is None:
                raise _book_not_found(book_id)
            found = await service.replace_book_tags(conn, book_id=book_id, slugs=wanted)
            book = await service.get_book(conn, book_id=book_id)
            assert book is not None
            if found < len(wanted):  # raising here rolls the replacement back
                unknown = sorted(set(wanted) - {tag.slug for tag in book.tags})
                raise ValidationException(
                    detail=f"Unknown tags: {', '.join(unknown)}",
                    extra=[{"key": "tags", "message": f"Unknown tags: {', '.join(unknown)}", "source": "body"}],
                )
        return book

    @put("/{book_id:uuid}/reviews/me", summary="Create (201) or replace (200) your review of a book.")
    async def put_review(
        self, db: Db, caller: CurrentCaller, book_id: FromPath[UUID], data: JSONBody[ReviewIn]
    ) -> Response[Review]:
        async with db.transaction() as conn:
            stored = await service.put_review(
                conn, book_id=book_id, user_id=caller.user_id, rating=data.rating, body=data.body
            )
        if stored is None:
            raise _book_not_found(book_id)
        review, created = stored
        return Response(review, status_code=201 if created else 200)

    @delete("/{book_id:uuid}/reviews/me", summary="Remove your review of a book.")
    async def delete_review(self, db: Db, caller: CurrentCaller, book_id: FromPath[UUID]) -> None:
        async with db.transaction() as conn:
            if not await service.delete_review(conn, book_id=book_id, user_id=caller.user_id):
                raise NotFoundException(detail=f"You have no review of book {book_id}.")

    @get("/{book_id:uuid}/reviews", summary="A book's reviews, newest first, by keyset.")
    async def list_reviews(
        self, db: Db, request: Request[Any, Any, Any], book_id: FromPath[UUID], limit: Limit = 20, after: After = None
    ) -> ReviewPage:
        position = read_cursor(request, after, size=1, parse=lambda key: UUID(key[0]))
        async with db.connection() as conn:
            items = await service.list_reviews(conn, book_id=book_id, after=position, limit=limit)
        next_key = [str(items[-1].id)] if len(items) == limit else None
        return ReviewPage(items=items, next=next_cursor(request, next_key))


class TagController(Controller):
    path = "/tags"
    tags = ["catalog"]

    @get("/", summary="Every tag with how many live published books carry it.")
    async def list_tags(self, db: Db) -> list[Tag]:
        async with db.connection() as conn:
            return await service.list_tags(conn)

    @post("/", summary="Add a tag (staff).")
    async def create_tag(self, db: Db, caller: CurrentCaller, data: JSONBody[TagIn]) -> Tag:
        ensure_staff(caller)
        async with db.transaction() as conn:
            return await service.create_tag(conn, slug=data.slug, name=data.name)

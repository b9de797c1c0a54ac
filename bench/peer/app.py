"""The peer: bookshop's public catalog reads written the way FastAPI's and SQLAlchemy's documents
show them. An async engine and a session per request (a dependency), ORM entities with their
relationships loaded eagerly (joinedload for the many-to-one author, selectinload for the tags),
pydantic models built from the entities, offset pages with a count().

It serves the same data as bookshop for GET /health, GET /books/{slug}, GET /books/search?q=
and GET /books?page=&per_page= (bench/peer/compare.py checks that), on bookshop's database:

    DATABASE_URL=postgresql://bookshop_app@/bookshop?host=... \\
        uv run --project bench/peer uvicorn --app-dir bench/peer app:app --port 8001
"""

import base64
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated
from uuid import UUID

from fastapi import Depends, FastAPI, HTTPException, Query
from models import Book, Review
from schemas import BookDetail, BookItem, BookPage, RatingSummary, SearchHit, SearchPage, Status, TitleSuggestion
from sqlalchemy import func, literal, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import joinedload, selectinload

# bookshop's pool holds at most 10 connections (pool_max_size): the same here.
engine = create_async_engine(
    os.environ["DATABASE_URL"].replace("postgresql://", "postgresql+asyncpg://", 1), pool_size=10, max_overflow=0
)
SessionLocal = async_sessionmaker(engine, expire_on_commit=False)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    yield
    await engine.dispose()


app = FastAPI(title="bookshop peer", lifespan=lifespan)


async def get_session() -> AsyncIterator[AsyncSession]:
    async with SessionLocal() as session:
        yield session


Session = Annotated[AsyncSession, Depends(get_session)]

# A live published book: what the public listing, search and detail show.
LISTED = (Book.is_published, Book.deleted_at.is_(None))


@app.get("/health")
async def health() -> Status:
    return Status(status="ok")


@app.get("/books")
async def list_books(
    session: Session,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    per_page: Annotated[int, Query(ge=1, le=100)] = 20,
) -> BookPage:
    total = await session.scalar(select(func.count()).select_from(Book).where(*LISTED)) or 0
    books = await session.scalars(
        select(Book)
        .options(joinedload(Book.author))
        .where(*LISTED)
        .order_by(Book.published_at.desc(), Book.id.desc())
        .offset((page - 1) * per_page)
        .limit(per_page)
    )
    items = [BookItem.model_validate(book) for book in books]
    return BookPage(items=items, page=page, per_page=per_page, total=total, pages=-(-total // per_page))


def _next_cursor(hit: SearchHit) -> str:
    return base64.urlsafe_b64encode(f"{hit.rank!r} {hit.id}".encode()).decode()


def _read_cursor(cursor: str) -> tuple[float, UUID]:
    try:
        rank, book_id = base64.urlsafe_b64decode(cursor.encode()).decode().split(" ")
        return float(rank), UUID(book_id)
    except ValueError:
        raise HTTPException(status_code=400, detail="`after` is not a cursor this listing issued") from None


@app.get("/books/search")
async def search_books(
    session: Session,
    q: Annotated[str, Query(min_length=1, max_length=200)],
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    after: Annotated[str | None, Query(max_length=1000)] = None,
) -> SearchPage:
    query = func.websearch_to_tsquery("english", q)
    rank = func.ts_rank(Book.search, query)
    snippet = func.ts_headline(
        "english",
        Book.title + ". " + Book.subtitle + ". " + Book.description,
        query,
        "StartSel=<mark>, StopSel=</mark>, MaxWords=30, MinWords=10, MaxFragments=2",
    )
    statement = (
        select(Book, rank.label("rank"), snippet.label("snippet"))
        .options(joinedload(Book.author))
        .where(Book.search.bool_op("@@")(query), *LISTED)
        .order_by(rank.desc(), Book.id.desc())
        .limit(limit)
    )
    if after is not None:
        statement = statement.where(tuple_(rank, Book.id) < tuple_(*_read_cursor(after)))
    rows = (await session.execute(statement)).all()
    hits = []
    for book, book_rank, book_snippet in rows:
        book.rank, book.snippet = book_rank, book_snippet
        hits.append(SearchHit.model_validate(book))
    suggestions: list[TitleSuggestion] = []
    if not hits and after is None:  # "did you mean": titles with a word close to the query
        close = await session.scalars(
            select(Book)
            .where(literal(q).bool_op("<%")(Book.title), *LISTED)
            .order_by(func.word_similarity(q, Book.title).desc(), Book.id)
            .limit(5)
        )
        suggestions = [TitleSuggestion.model_validate(book) for book in close]
    next_cursor = _next_cursor(hits[-1]) if len(hits) == limit else None
    return SearchPage(items=hits, next=next_cursor, suggestions=suggestions)


@app.get("/books/{slug}")
async def get_book(session: Session, slug: str) -> BookDetail:
    book = await session.scalar(
        select(Book).options(joinedload(Book.author), selectinload(Book.tags)).where(Book.slug == slug, *LISTED)
    )
    if book is None:
        raise HTTPException(status_code=404, detail=f"No book {slug}.")
    count, average = (
        await session.execute(
            select(func.count(Review.id), func.round(func.avg(Review.rating), 2)).where(Review.book_id == book.id)
        )
    ).one()
    book.rating = RatingSummary(count=count, average=average)
    return BookDetail.model_validate(book)

"""The peer's response models (pydantic v2), shaped as bookshop's responses are."""

from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field


class ORMModel(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class AuthorRef(ORMModel):
    id: UUID
    name: str


class TagRef(ORMModel):
    slug: str
    name: str


class RatingSummary(BaseModel):
    count: int
    average: float | None


class BookDetail(ORMModel):
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
    # The ORM attribute is metadata_ (DeclarativeBase keeps `metadata` for the table metadata).
    metadata: dict[str, Any] = Field(validation_alias="metadata_")
    author: AuthorRef
    tags: list[TagRef]
    rating: RatingSummary
    created_at: datetime
    updated_at: datetime


class BookItem(ORMModel):
    id: UUID
    slug: str
    title: str
    subtitle: str
    price: Decimal
    published_at: datetime
    author: AuthorRef


class BookPage(BaseModel):
    items: list[BookItem]
    page: int
    per_page: int
    total: int
    pages: int


class SearchHit(BookItem):
    rank: float
    snippet: str


class TitleSuggestion(ORMModel):
    slug: str
    title: str


class SearchPage(BaseModel):
    items: list[SearchHit]
    next: str | None
    suggestions: list[TitleSuggestion]


class Status(BaseModel):
    status: str

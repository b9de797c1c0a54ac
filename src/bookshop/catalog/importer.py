"""Bulk import of books from NDJSON or CSV, and the export in the same shape.

Rows are validated one by one as they stream in; good rows go through COPY into a staging
table, and one upsert moves them into books, all in one transaction: an import lands whole or
leaves nothing. Bad rows are reported with their line number and reason.
"""

import csv
import io
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal
from uuid import UUID

import msgspec

from bookshop.catalog.schemas import BookIn, Isbn
from bookshop.db.pool import Connection
from bookshop.db.queries import queries

Format = Literal["ndjson", "csv"]
STAGED_COLUMNS = (
    "line", "isbn", "slug", "title", "subtitle", "description", "author_id", "price", "stock", "is_published",
    "published_at", "metadata",
)  # fmt: skip


class BookRow(BookIn, kw_only=True):
    """One book of an import: a book as staff would create it, keyed by its ISBN."""

    isbn: Isbn  # required here: imports upsert on it


class ExportedBook(msgspec.Struct, kw_only=True):
    """One line of the export: a live book as stored, in an import row's shape. A book may have
    no ISBN (POST /books takes one without): its line says `"isbn": null`, and an import refuses
    that line by its number, since import rows are keyed by ISBN."""

    isbn: str | None
    slug: str
    title: str
    subtitle: str
    description: str
    author_id: UUID
    price: Decimal
    stock: int
    is_published: bool
    published_at: datetime | None
    metadata: dict[str, Any]


class Rejection(msgspec.Struct):
    line: int
    reason: str


class ImportReport(msgspec.Struct):
    inserted: int
    updated: int
    rejected: list[Rejection]


# As long as allow_long_import lets the server run (sql/catalog/book_import.sql).
IMPORT_TIMEOUT_SECONDS = 30 * 60.0

Parsed = tuple[int, BookRow | str]  # a line number and its row, or why it is not one


def _storable(row: BookRow) -> bool:
    """A lone surrogate (the stand-in for a byte that is not UTF-8) cannot be encoded at all:
    such a row is refused alone, so that it cannot fail the whole COPY. (A NUL, which PostgreSQL
    cannot store either, is refused by the fields' own patterns.)"""
    try:
        msgspec.json.encode(row)
    except UnicodeEncodeError:
        return False
    return True


NO_ISBN = "isbn: required: import rows are keyed by ISBN (an exported book without one has none to key by)"


def _validated(line: int, fields: Any) -> Parsed:
    if isinstance(fields, dict) and fields.get("isbn") is None:
        return line, NO_ISBN
    try:
        row = msgspec.convert(fields, BookRow, strict=False)
    except msgspec.ValidationError as error:
        return line, str(error)
    if not _storable(row):
        return line, "holds bytes that are not UTF-8"
    return line, row


def _decoded_json(raw: bytes | str) -> Any:
    """A JSON value; ValueError saying why not (malformed, not UTF-8, or nested too deeply)."""
    try:
        return msgspec.json.decode(raw)
    except msgspec.DecodeError as error:
        raise ValueError(f"not JSON: {error}") from None
    except RecursionError:
        raise ValueError("not JSON this service takes: nested too deeply") from None


def parse_ndjson(lines: Iterable[bytes]) -> Iterator[Parsed]:
    """One JSON object per line; blank lines are skipped."""
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        try:
            fields = _decoded_json(raw)
        except ValueError as error:
            yield number, str(error)
            continue
        yield _validated(number, fields)


def parse_csv(text: Iterable[str]) -> Iterator[Parsed]:
    """A header line naming the fields; empty cells are absent fields; metadata holds JSON."""
    reader = csv.DictReader(text)
    while True:
        first_line = reader.line_num + 1  # where the next record starts
        try:
            record = next(reader)
        except StopIteration:
            return
        except csv.Error as error:  # a field over the csv module's size limit, say: that row only
            yield first_line, f"not CSV: {error}"
            continue
        fields: dict[str, Any] = {key: value for key, value in record.items() if key and value not in ("", None)}
        if "metadata" in fields:
            try:
                fields["metadata"] = _decoded_json(fields["metadata"])
            except ValueError as error:
                yield reader.line_num, f"metadata: {error}"
                continue
        yield _validated(reader.line_num, fields)


def parse(data: bytes, format: Format) -> Iterator[Parsed]:
    if format == "ndjson":
        return parse_ndjson(data.splitlines())
    # Bytes that are not UTF-8 become lone surrogates, refused row by row by _validated.
    return parse_csv(io.StringIO(data.decode("utf-8-sig", errors="surrogateescape"), newline=""))


async def import_books(
    conn: Connection, *, rows: Iterable[Parsed], on_row: Callable[[], None] | None = None
) -> ImportReport:
    """Imports the good rows in one transaction and reports the bad ones."""
    rejected: list[Rejection] = []

    def staged() -> Iterator[tuple[Any, ...]]:
        for line, row in rows:
            if on_row is not None:
                on_row()
            if isinstance(row, str):
                rejected.append(Rejection(line=line, reason=row))
                continue
            yield (
                line, row.isbn, row.slug, row.title, row.subtitle, row.description, row.author_id, row.price,
                row.stock, row.is_published, row.published_at, msgspec.json.encode(row.metadata).decode(),
            )  # fmt: skip

    catalog = queries.catalog
    async with conn.transaction():
        await catalog.allow_long_import(conn)
        await catalog.create_book_import_table(conn)
        # The long statements run with the import's own client-side timeout, in place of the
        # pool's command_timeout; aiosql takes no per-call timeout, so they go through asyncpg
        # with the SQL aiosql loaded from sql/catalog/book_import.sql.
        await conn.copy_records_to_table(
            "book_import", records=staged(), columns=STAGED_COLUMNS, timeout=IMPORT_TIMEOUT_SECONDS
        )
        refused = await conn.fetch(catalog.reject_staged_books.sql, timeout=IMPORT_TIMEOUT_SECONDS)
        rejected += [Rejection(line=row["line"], reason=row["reason"]) for row in refused]
        counts = await conn.fetchrow(catalog.upsert_staged_books.sql, timeout=IMPORT_TIMEOUT_SECONDS)
    assert counts is not None  # an aggregate always returns its row
    rejected.sort(key=lambda rejection: rejection.line)
    return ImportReport(inserted=counts["inserted"], updated=counts["updated"], rejected=rejected)


async def export_ndjson(conn: Connection, *, batch_rows: int = 500) -> AsyncIterator[bytes]:
    """Every live book as NDJSON, in chunks of batch_rows lines, from a server-side cursor.

    The rows are encoded as stored, not checked again against the import's rules: what the
    database holds, its constraints already admitted, and one row must not cut everyone's
    export short (a failure here ends the response abnormally, see http/observe.py)."""
    encoder = msgspec.json.Encoder()
    chunk = bytearray()
    rows = 0
    async with queries.catalog.export_books_cursor(conn) as cursor:
        async for record in cursor:
            encoder.encode_into(ExportedBook(**record), chunk, -1)
            chunk += b"\n"
            rows += 1
            if rows == batch_rows:
                yield bytes(chunk)
                chunk.clear()
                rows = 0
    if chunk:
        yield bytes(chunk)


def format_of(path: Path) -> Format:
    """The format a file's name announces: .csv, or NDJSON for .ndjson, .jsonl and .json."""
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return "csv"
    if suffix in (".ndjson", ".jsonl", ".json"):
        return "ndjson"
    raise ValueError(f"{path.name}: name the file .ndjson, .jsonl or .csv")


def parse_file(path: Path, format: Format) -> Iterator[Parsed]:
    """The file's rows as they are read: constant memory whatever its size."""
    if format == "ndjson":
        with path.open("rb") as lines:
            yield from parse_ndjson(lines)
    else:
        with path.open(newline="", encoding="utf-8-sig", errors="surrogateescape") as text:
            yield from parse_csv(text)

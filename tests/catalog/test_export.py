"""GET /books/export holds every live book, those without an ISBN too, and an import of it
refuses those by their line rather than fail."""

import msgspec

from bookshop.catalog import importer
from tests.support.accounts import Account
from tests.support.catalog import add_author, add_book
from tests.support.clients import Client

NDJSON = {"content-type": "application/x-ndjson"}


async def test_a_book_without_an_isbn_is_exported_with_a_null_isbn(client: Client, staff: Account) -> None:
    author = await add_author(client, staff)
    for n in range(3):
        await add_book(client, staff, author, f"with-isbn-{n}", isbn=f"978000000000{n}")
    await add_book(client, staff, author, "no-isbn", metadata={"cover": {"w": 600}})
    for n in range(3, 6):
        await add_book(client, staff, author, f"with-isbn-{n}", isbn=f"978000000000{n}")

    response = await client.get("/books/export")
    assert response.status_code == 200
    lines = response.content.splitlines()
    assert response.content.endswith(b"\n")
    rows = [msgspec.json.decode(line) for line in lines]  # every line parses
    assert len(rows) == 7
    [bare] = [row for row in rows if row["slug"] == "no-isbn"]
    assert bare["isbn"] is None
    assert bare["metadata"] == {"cover": {"w": 600}}
    assert bare["author_id"] == author
    assert bare["price"] == "9.99"
    assert sorted(row["isbn"] for row in rows if row["isbn"]) == [f"978000000000{n}" for n in range(6)]
    # Each line is what the document says a line is.
    for line in lines:
        msgspec.json.decode(line, type=importer.ExportedBook)


async def test_an_import_of_the_export_refuses_the_book_without_an_isbn_by_its_line(
    client: Client, staff: Account
) -> None:
    author = await add_author(client, staff)
    await add_book(client, staff, author, "first", isbn="9780000000001")
    await add_book(client, staff, author, "no-isbn")
    await add_book(client, staff, author, "last", isbn="9780000000002")
    exported = (await client.get("/books/export")).content
    line = 1 + [msgspec.json.decode(row)["slug"] for row in exported.splitlines()].index("no-isbn")

    report = await client.post("/books/import", content=exported, headers={**staff.headers, **NDJSON})
    assert report.status_code == 200, report.text
    assert report.json() == {
        "inserted": 0,
        "updated": 2,
        "rejected": [{"line": line, "reason": importer.NO_ISBN}],
    }
    csv = b"slug,title,author_id,price\nbare,Bare," + author.encode() + b",1.00\n"
    report = await client.post("/books/import", content=csv, headers={**staff.headers, "content-type": "text/csv"})
    assert report.json()["rejected"] == [{"line": 2, "reason": importer.NO_ISBN}]

"""Bulk import (NDJSON, CSV) through COPY, and the streamed export in the same shape."""

import uuid
from typing import Any

import asyncpg
import msgspec

from bookshop.catalog import importer
from tests.support.accounts import Account
from tests.support.catalog import add_author
from tests.support.clients import Client, ClientFactory
from tests.support.problems import assert_problem

NDJSON = {"content-type": "application/x-ndjson"}


def book_row(n: int, author_id: str, **fields: Any) -> dict[str, Any]:
    return {
        "isbn": f"978{n:010d}",
        "slug": f"imported-{n}",
        "title": f"Imported {n}",
        "author_id": author_id,
        "price": "4.50",
        "is_published": True,
        "published_at": "2021-03-04T05:06:07Z",
        **fields,
    }


def ndjson(rows: list[Any]) -> bytes:
    return b"".join((row if isinstance(row, bytes) else msgspec.json.encode(row)) + b"\n" for row in rows)


async def live_books(conn: asyncpg.Connection) -> int:
    count: int = await conn.fetchval("SELECT count(*) FROM books WHERE deleted_at IS NULL")
    return count


async def test_good_rows_land_and_bad_rows_are_reported_by_line(
    client: Client, staff: Account, conn: asyncpg.Connection
) -> None:
    author = await add_author(client, staff)
    taken = await client.post(
        "/books", json={"slug": "taken", "title": "Taken", "author_id": author, "price": "1"}, headers=staff.headers
    )
    assert taken.status_code == 201
    body = ndjson([
        book_row(1, author),                                    # line 1: good
        b"{not json",                                           # line 2
        book_row(2, author, title=""),                          # line 3
        book_row(3, author, isbn="12"),                         # line 4
        book_row(4, str(uuid.uuid4())),                         # line 5: unknown author
        book_row(5, author),                                    # line 6: good
        book_row(1, author, slug="other-slug"),                 # line 7: isbn of line 1 again
        book_row(6, author, slug="taken"),                      # line 8: slug held by another book
        book_row(7, author, price="-3"),                        # line 9
        book_row(8, author, metadata={"cover": {"w": 600}}),    # line 10: good
    ])  # fmt: skip
    response = await client.post("/books/import", content=body, headers={**staff.headers, **NDJSON})
    assert response.status_code == 200, response.text
    report = response.json()
    assert (report["inserted"], report["updated"]) == (3, 0)
    reasons = {rejection["line"]: rejection["reason"] for rejection in report["rejected"]}
    assert sorted(reasons) == [2, 3, 4, 5, 7, 8, 9]
    assert "not JSON" in reasons[2]
    assert "title" in reasons[3]
    assert "isbn" in reasons[4]
    assert reasons[5] == "author_id: no such author"
    assert reasons[7] == "isbn: already on an earlier line"
    assert reasons[8] == "slug: another book has it"
    assert "price" in reasons[9]
    assert await live_books(conn) == 4
    cover = await conn.fetchval("SELECT metadata FROM books WHERE isbn = $1", "9780000000008")
    assert cover == {"cover": {"w": 600}}


async def test_importing_again_updates_by_isbn(client: Client, staff: Account, conn: asyncpg.Connection) -> None:
    author = await add_author(client, staff)
    rows = [book_row(n, author) for n in range(3)]
    first = (await client.post("/books/import", content=ndjson(rows), headers={**staff.headers, **NDJSON})).json()
    assert (first["inserted"], first["updated"]) == (3, 0)
    rows[0]["price"] = "99.00"
    again = (await client.post("/books/import", content=ndjson(rows), headers={**staff.headers, **NDJSON})).json()
    assert (again["inserted"], again["updated"], again["rejected"]) == (0, 3, [])
    assert str(await conn.fetchval("SELECT price FROM books WHERE isbn = $1", rows[0]["isbn"])) == "99.00"


async def test_csv_import(client: Client, staff: Account, conn: asyncpg.Connection) -> None:
    author = await add_author(client, staff)
    csv_body = (
        "isbn,slug,title,author_id,price,stock,is_published,published_at,metadata\n"
        f'9781111111111,csv-one,CSV One,{author},3.20,7,true,2020-01-01T00:00:00Z,"{{""cover"": true}}"\n'
        f"9781111111112,csv-two,CSV Two,{author},abc,1,false,,\n"
        f'9781111111113,csv-three,"Three, with a comma",{author},1,0,false,,\n'
    )
    response = await client.post(
        "/books/import", content=csv_body.encode(), headers={**staff.headers, "content-type": "text/csv"}
    )
    report = response.json()
    assert (report["inserted"], [r["line"] for r in report["rejected"]]) == (2, [3]), report
    row = await conn.fetchrow("SELECT stock, metadata, is_published FROM books WHERE slug = 'csv-one'")
    assert dict(row) == {"stock": 7, "metadata": {"cover": True}, "is_published": True}
    assert await conn.fetchval("SELECT title FROM books WHERE slug = 'csv-three'") == "Three, with a comma"


async def test_an_import_that_fails_midway_leaves_nothing(
    client: Client, staff: Account, conn: asyncpg.Connection
) -> None:
    author = await add_author(client, staff)
    # A fault the import cannot foresee: the database refuses one row while the upsert runs.
    await conn.execute("""
        CREATE FUNCTION refuse_explode() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF NEW.title = 'Explode' THEN RAISE EXCEPTION 'refused' USING ERRCODE = 'check_violation'; END IF;
            RETURN NEW;
        END $$;
        CREATE TRIGGER refuse_explode BEFORE INSERT ON books FOR EACH ROW EXECUTE FUNCTION refuse_explode();
    """)
    rows = [book_row(1, author), book_row(2, author), book_row(3, author, title="Explode"), book_row(4, author)]
    response = await client.post("/books/import", content=ndjson(rows), headers={**staff.headers, **NDJSON})
    assert_problem(response, 422)
    assert await live_books(conn) == 0


async def test_an_import_may_outlast_the_services_statement_timeout(
    make_client: ClientFactory, staff: Account, conn: asyncpg.Connection
) -> None:
    # The upsert takes 0.5 s here, well past a 200 ms statement timeout on the server and a 300 ms
    # command timeout in the client: the import lifts both, for its own statements only.
    await conn.execute("""
        CREATE FUNCTION slow_down() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN PERFORM pg_sleep(0.5); RETURN NULL; END $$;
        CREATE TRIGGER slow_down BEFORE INSERT ON books FOR EACH STATEMENT EXECUTE FUNCTION slow_down();
    """)
    async with make_client(statement_timeout_ms=200, command_timeout=0.3) as client:
        author = await add_author(client, staff)
        rows = [book_row(n, author) for n in range(3)]
        response = await client.post("/books/import", content=ndjson(rows), headers={**staff.headers, **NDJSON})
        assert response.status_code == 200, response.text
        assert response.json()["inserted"] == 3
        # ... for the import's own transaction only: the connection is back to 200 ms after it.
        assert (await client.get("/books/search", params={"q": "imported"})).status_code == 200
    assert await live_books(conn) == 3


async def test_import_needs_staff_and_a_known_format(client: Client, staff: Account, customer: Account) -> None:
    assert_problem(await client.post("/books/import", content=b"{}", headers={**customer.headers, **NDJSON}), 403)
    wrong = await client.post("/books/import", content=b"x", headers={**staff.headers, "content-type": "text/plain"})
    assert_problem(wrong, 415)


async def test_export_streams_every_live_book_in_the_import_shape(
    client: Client, staff: Account, conn: asyncpg.Connection, app_conn: asyncpg.Connection
) -> None:
    author = await add_author(client, staff)
    rows = [book_row(n, author) for n in range(1200)]
    await client.post("/books/import", content=ndjson(rows), headers={**staff.headers, **NDJSON})
    await conn.execute("UPDATE books SET deleted_at = now() WHERE isbn = $1", rows[0]["isbn"])

    response = await client.get("/books/export")
    assert response.headers["content-type"].startswith("application/x-ndjson")
    body = response.content
    lines = body.splitlines()
    assert len(lines) == 1199
    # Produced as the cursor is read, in chunks of 500 lines, not built whole first.
    chunks = [chunk async for chunk in importer.export_ndjson(app_conn, batch_rows=500)]
    assert [len(chunk.splitlines()) for chunk in chunks] == [500, 500, 199]
    exported = [msgspec.json.decode(line) for line in lines]
    assert {row["isbn"] for row in exported} == {row["isbn"] for row in rows[1:]}

    again = await client.post("/books/import", content=body, headers={**staff.headers, **NDJSON})
    assert (again.json()["inserted"], again.json()["updated"], again.json()["rejected"]) == (0, 1199, [])

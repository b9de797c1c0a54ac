"""`bookshop import books`: NDJSON and CSV files, rejected rows reported by line."""

import json
from pathlib import Path

import asyncpg

from tests.support.cli import run


async def test_import_books_from_a_file(cli_env: dict[str, str], tmp_path: Path, conn: asyncpg.Connection) -> None:
    author_id = await conn.fetchval("INSERT INTO authors (name) VALUES ('Filed Author') RETURNING id")
    row = {"title": "From A File", "author_id": str(author_id), "price": "5", "is_published": False}
    rows = [
        {**row, "isbn": "9782222222221", "slug": "from-a-file"},
        {**row, "isbn": "bad"},
        {**row, "isbn": "9782222222223", "slug": "from-a-file-too"},
    ]
    ndjson = tmp_path / "books.ndjson"
    ndjson.write_bytes(b"".join(json.dumps(r).encode() + b"\n" for r in rows))
    result = run("import", "books", str(ndjson), env=cli_env)
    assert result.returncode == 1, result.stderr  # some rows were rejected
    assert "inserted 2, updated 0, rejected 1" in result.stderr
    assert "line 2: " in result.stderr
    assert await conn.fetchval("SELECT count(*) FROM books") == 2

    csv_file = tmp_path / "books.txt"
    csv_file.write_text(f"isbn,slug,title,author_id,price\n9782222222221,from-a-file,Renamed,{author_id},6\n")
    assert run("import", "books", str(csv_file), env=cli_env).returncode == 2  # .txt names no format
    again = run("import", "books", str(csv_file), "--format", "csv", env=cli_env)
    assert again.returncode == 0, again.stderr
    assert "inserted 0, updated 1, rejected 0" in again.stderr
    assert await conn.fetchval("SELECT title FROM books WHERE isbn = '9782222222221'") == "Renamed"

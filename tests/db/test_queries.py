"""The query files: names unique across files, parameters declared, every query explained."""

import re
from collections import Counter
from pathlib import Path

import aiosql
import pytest

from bookshop.db import named_queries
from bookshop.db.queries import queries
from bookshop.paths import SQL_DIR


def test_every_name_line_declares_its_parameters() -> None:
    for path in sorted(SQL_DIR.rglob("*.sql")):
        named_queries.parse_file(path)  # QueryFileError names the file, line and text of a bad one


def test_a_name_line_without_its_parameters_is_refused(tmp_path: Path) -> None:
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "bad.sql").write_text("-- name: get_thing^\n-- a thing\nSELECT 1;\n")
    with pytest.raises(named_queries.QueryFileError, match=r"bad.sql:1: .* must read"):
        named_queries.load(tmp_path)


def test_query_names_are_unique_across_all_files() -> None:
    names = Counter(query.name for query in named_queries.all_queries())
    duplicates = [name for name, count in names.items() if count > 1]
    assert duplicates == [], f"query names defined more than once (aiosql would silently keep one): {duplicates}"


def test_every_query_says_what_it_is_for() -> None:
    for query in named_queries.all_queries():
        below = [*query.text.splitlines(), ""][1]
        assert re.match(r"^-- \S.{8,}", below), (
            f"{query.location()}: the line under the name must say what the query is for and what serves it"
        )


def test_the_loader_exposes_every_named_query_by_folder() -> None:
    for query in named_queries.all_queries():
        target = queries
        for part in query.context.split("."):
            target = getattr(target, part)
        assert hasattr(target, query.name), f"{query.qualified_name} is not loaded"


def test_plan_annotations_give_a_reason() -> None:
    for query in named_queries.all_queries():
        for line in query.comment.splitlines():
            if line.startswith("plan:"):
                assert any(note.seq_scan_table for note in query.annotations), (
                    f"{query.location()}: write `-- plan: seq-scan ok, <why>` (or `seq-scan ok on <table>, <why>`)"
                )


def test_loading_fails_on_a_parameter_the_name_does_not_declare(tmp_path: Path) -> None:
    (tmp_path / "bad.sql").write_text(
        "-- name: get_thing(id)^\n-- a thing\nSELECT * FROM t WHERE id = :id AND x = :x;\n"
    )
    with pytest.raises(aiosql.SQLParseException):
        aiosql.from_path(tmp_path, "asyncpg")


def test_no_sql_statement_text_in_python_sources() -> None:
    statement = re.compile(r"[\"'](SELECT|INSERT INTO|UPDATE \w+ SET|DELETE FROM|CREATE (TABLE|INDEX))\b")
    offenders = [
        f"{path}:{number}"
        for path in (SQL_DIR.parent / "src").rglob("*.py")
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if statement.search(line)
    ]
    assert offenders == [], f"SQL belongs in sql/ or migrations/: {offenders}"

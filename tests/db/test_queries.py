"""The query files: names unique across files, parameters declared, every query explained."""

import re
from collections import Counter
from pathlib import Path

import aiosql
import pytest

from bookshop.db.queries import queries
from bookshop.paths import SQL_DIR

NAME_LINE = re.compile(r"^-- name: (?P<name>[\w-]+)\((?P<params>[^)]*)\)(?P<suffix>[$^!#<*]*)\s*$")


def named_queries() -> list[tuple[Path, int, str, list[str]]]:
    """(file, line number, name, the lines under the name) for every named query under sql/."""
    found = []
    for path in sorted(SQL_DIR.rglob("*.sql")):
        lines = path.read_text().splitlines()
        for number, line in enumerate(lines, start=1):
            if line.startswith("-- name:"):
                found.append((path, number, line, lines[number:]))
    return found


def test_every_name_line_declares_its_parameters() -> None:
    for path, number, line, _ in named_queries():
        assert NAME_LINE.match(line), f"{path}:{number}: '{line}' must read '-- name: query_name(param, ...)<suffix>'"


def test_query_names_are_unique_across_all_files() -> None:
    names = Counter(NAME_LINE.match(line)["name"] for _, _, line, _ in named_queries())  # type: ignore[index]
    duplicates = [name for name, count in names.items() if count > 1]
    assert duplicates == [], f"query names defined more than once (aiosql would silently keep one): {duplicates}"


def test_every_query_says_what_it_is_for() -> None:
    for path, number, _, below in named_queries():
        comment = below[0] if below else ""
        assert re.match(r"^-- \S.{8,}", comment), (
            f"{path}:{number}: the line under the name must say what the query is for and what serves it"
        )


def test_the_loader_exposes_every_named_query_by_folder() -> None:
    for path, _, line, _ in named_queries():
        namespace = path.parent.relative_to(SQL_DIR).as_posix().replace("/", ".")
        name = NAME_LINE.match(line)["name"].replace("-", "_")  # type: ignore[index]
        target = queries
        for part in namespace.split("."):
            target = getattr(target, part)
        assert hasattr(target, name), f"{namespace}.{name} is not loaded"


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

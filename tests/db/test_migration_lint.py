"""Migration lint: squawk over every migration file, forward and rollback, with the project's
.squawk.toml; and two rules of our own that squawk cannot see whole, because they depend on how
yoyo runs a file:

- an index on a table this file did not create is built CONCURRENTLY, and CONCURRENTLY only
  appears in a migration whose first line is `-- transactional: false`;
- every file sets lock_timeout and statement_timeout before its first other statement: with
  SET LOCAL in a transactional migration (the setting ends with yoyo's transaction), with plain
  SET in a `-- transactional: false` one, which yoyo runs statement by statement in autocommit
  on a connection of its own, where SET LOCAL does nothing.

Files are globbed when the tests run, so a migration added later is linted like the rest.
"""

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import sqlparse
from yoyo.migrations import read_sql_migration

from bookshop.paths import MIGRATIONS_DIR, PROJECT_ROOT

SQUAWK = Path(sys.executable).with_name("squawk")
SQUAWK_CONFIG = PROJECT_ROOT / ".squawk.toml"
NON_TRANSACTIONAL = "-- transactional: false"
SQUAWK_NOT_IN_TRANSACTION = "-- squawk-disable-assume-in-transaction"

_NAME = r'(?:"?\w+"?\.)?"?(\w+)"?'
_CREATE_TABLE = re.compile(rf"^CREATE\s+(?:UNLOGGED\s+)?TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?{_NAME}", re.I)
_CREATE_INDEX = re.compile(
    rf"^CREATE\s+(?:UNIQUE\s+)?INDEX\s+(CONCURRENTLY\s+)?(?:IF\s+NOT\s+EXISTS\s+)?(?:{_NAME}\s+)?ON\s+(?:ONLY\s+)?{_NAME}",
    re.I,
)
_CONCURRENTLY = re.compile(r"^(?:CREATE\s+(?:UNIQUE\s+)?INDEX|DROP\s+INDEX|REINDEX\b.*?)\s+CONCURRENTLY\b", re.I | re.S)
_SET_TIMEOUT = re.compile(r"^SET\s+(LOCAL\s+|SESSION\s+)?(lock_timeout|statement_timeout)\b", re.I)


def migration_files() -> list[Path]:
    return sorted(MIGRATIONS_DIR.glob("*.sql"))


def forward_of(path: Path) -> Path:
    """The forward migration whose transaction mode yoyo also uses for this file's rollback."""
    if not path.name.endswith(".rollback.sql"):
        return path
    forward = path.with_name(path.name.removesuffix(".rollback.sql") + ".sql")
    assert forward.exists(), f"{path.name} rolls back a migration that does not exist"
    return forward


def runs_in_a_transaction(path: Path) -> bool:
    """As yoyo decides: from the forward file's `-- transactional:` directive, for both directions."""
    directives, _, _ = read_sql_migration(str(forward_of(path)))
    return directives.get("transactional", "true").lower() != "false"


def statements(path: Path) -> list[str]:
    """The file's statements as yoyo splits them (sqlparse), without comments, on one line each."""
    found = []
    for statement in sqlparse.split(path.read_text()):
        text = " ".join(sqlparse.format(statement, strip_comments=True).split()).rstrip(";").strip()
        if text:
            found.append(text)
    return found


def rule_violations(path: Path) -> list[str]:
    """What breaks the index and timeout rules in this file, one line each."""
    transactional = runs_in_a_transaction(path)
    lines = path.read_text().splitlines()
    problems = []
    if not transactional:
        if not lines or lines[0].strip() != NON_TRANSACTIONAL:
            problems.append(f"yoyo runs it outside a transaction: make `{NON_TRANSACTIONAL}` its first line")
        if SQUAWK_NOT_IN_TRANSACTION not in (line.strip() for line in lines):
            problems.append(f"it runs outside a transaction: add `{SQUAWK_NOT_IN_TRANSACTION}` for squawk")
    created: set[str] = set()
    timeouts: set[str] = set()
    checked_timeouts = False
    for statement in statements(path):
        if setting := _SET_TIMEOUT.match(statement):
            scope, name = (setting.group(1) or "").strip().upper(), setting.group(2).lower()
            timeouts.add(name)
            if transactional and scope != "LOCAL":
                problems.append(f"`{statement}`: use SET LOCAL, so it ends with the migration's transaction")
            if not transactional and scope == "LOCAL":
                problems.append(f"`{statement}`: SET LOCAL does nothing outside a transaction; use SET")
            continue
        if not checked_timeouts:
            checked_timeouts = True
            for name in sorted({"lock_timeout", "statement_timeout"} - timeouts):
                problems.append(f"sets no {name} before its first statement (`{statement[:60]}`)")
        if table := _CREATE_TABLE.match(statement):
            created.add(table.group(1).lower())
        index = _CREATE_INDEX.match(statement)
        if index and not index.group(1) and index.group(3).lower() not in created:
            problems.append(
                f"`{statement[:80]}`: {index.group(3)} exists before this migration, so build the index"
                f" CONCURRENTLY, in a migration whose first line is `{NON_TRANSACTIONAL}`"
            )
        if transactional and _CONCURRENTLY.match(statement):
            problems.append(
                f"`{statement[:80]}`: CONCURRENTLY cannot run in a transaction; put it in a migration whose"
                f" first line is `{NON_TRANSACTIONAL}`"
            )
    if not checked_timeouts:
        problems.append("has no statement besides its timeouts")
    return problems


def squawk(*paths: Path) -> list[dict[str, Any]]:
    """squawk's findings on these files with the project's configuration."""
    result = subprocess.run(
        [str(SQUAWK), "--config", str(SQUAWK_CONFIG), "--reporter", "json", *map(str, paths)],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode in (0, 1), f"squawk failed to run: {result.stderr}"
    findings: list[dict[str, Any]] = json.loads(result.stdout or "[]")
    assert (result.returncode == 1) == bool(findings), result.stdout + result.stderr
    return findings


def describe(findings: list[dict[str, Any]]) -> str:
    return "\n".join(
        f"{Path(f['file']).name}:{f['line'] + 1}: {f['rule_name']}: {f['message']} {f.get('help') or ''}".rstrip()
        for f in findings
    )


def test_squawk_finds_nothing_in_any_migration_forward_or_rollback() -> None:
    files = migration_files()
    rollbacks = [path for path in files if path.name.endswith(".rollback.sql")]
    assert rollbacks, "no migrations found"
    assert len(files) == 2 * len(rollbacks), "a migration without its rollback (see test_migrations.py)"
    findings = squawk(*files)
    assert not findings, (
        "squawk objects to these migrations. Fix the statement, or where the rule's concern does not apply,"
        " put a comment saying why and `-- squawk-ignore RULE` on the line above it:\n" + describe(findings)
    )


@pytest.mark.parametrize("path", migration_files(), ids=lambda path: path.name)
def test_indexes_on_existing_tables_are_concurrent_and_timeouts_are_set(path: Path) -> None:
    assert rule_violations(path) == [], f"{path.name}:\n" + "\n".join(rule_violations(path))


def test_every_migration_is_checked_including_ones_added_later() -> None:
    """The parametrized test above sees the files present at collection; this one globs again."""
    for path in migration_files():
        assert rule_violations(path) == [], f"{path.name}:\n" + "\n".join(rule_violations(path))


# What a later migration adding an index to an existing table looks like, and what must fail.
GOOD_CONCURRENT_INDEX = f"""{NON_TRANSACTIONAL}
{SQUAWK_NOT_IN_TRANSACTION}
-- Books by stock level. yoyo runs this file statement by statement in autocommit, so the
-- timeouts are plain SET (they last for this migration's own connection).
-- depends: 0017_bookings
SET lock_timeout = '5s';
SET statement_timeout = '30min';

CREATE INDEX CONCURRENTLY IF NOT EXISTS books_stock_idx ON books (stock);
"""
GOOD_CONCURRENT_INDEX_ROLLBACK = f"""{NON_TRANSACTIONAL}
{SQUAWK_NOT_IN_TRANSACTION}
SET lock_timeout = '5s';
SET statement_timeout = '30min';

DROP INDEX CONCURRENTLY IF EXISTS books_stock_idx;
"""
BAD_MIGRATIONS = {
    "index_in_a_transaction": (
        "-- depends: 0017_bookings\nSET LOCAL lock_timeout = '5s';\nSET LOCAL statement_timeout = '60s';\n"
        "CREATE INDEX books_stock_idx ON books (stock);\n",
        "books exists before this migration",
        "require-concurrent-index-creation",
    ),
    "concurrently_in_a_transaction": (
        "-- depends: 0017_bookings\nSET LOCAL lock_timeout = '5s';\nSET LOCAL statement_timeout = '60s';\n"
        "CREATE INDEX CONCURRENTLY books_stock_idx ON books (stock);\n",
        "CONCURRENTLY cannot run in a transaction",
        "ban-concurrent-index-creation-in-transaction",
    ),
    "no_timeouts": (
        "-- depends: 0017_bookings\nALTER TABLE books ADD COLUMN note text;\n",
        "sets no lock_timeout",
        "require-lock-timeout",
    ),
    "set_local_outside_a_transaction": (
        f"{NON_TRANSACTIONAL}\n{SQUAWK_NOT_IN_TRANSACTION}\n-- depends: 0017_bookings\n"
        "SET LOCAL lock_timeout = '5s';\nSET LOCAL statement_timeout = '60s';\n"
        "CREATE INDEX CONCURRENTLY IF NOT EXISTS books_stock_idx ON books (stock);\n",
        "SET LOCAL does nothing outside a transaction",
        None,  # squawk counts SET LOCAL as set; only our own rule sees that yoyo makes it a no-op
    ),
}


def write_migration(folder: Path, forward: str, rollback: str = "SET LOCAL lock_timeout = '5s';\n") -> Path:
    path = folder / "0099_example.sql"
    path.write_text(forward)
    path.with_name("0099_example.rollback.sql").write_text(rollback)
    return path


def test_a_concurrent_index_migration_done_right_passes_both_lints(tmp_path: Path) -> None:
    path = write_migration(tmp_path, GOOD_CONCURRENT_INDEX, GOOD_CONCURRENT_INDEX_ROLLBACK)
    rollback = path.with_name("0099_example.rollback.sql")
    assert not runs_in_a_transaction(path)
    assert rule_violations(path) == []
    assert rule_violations(rollback) == []
    assert describe(squawk(path, rollback)) == ""


@pytest.mark.parametrize("name", BAD_MIGRATIONS)
def test_the_lints_catch_what_they_guard_against(tmp_path: Path, name: str) -> None:
    text, our_finding, squawk_rule = BAD_MIGRATIONS[name]
    path = write_migration(tmp_path, text)
    assert any(our_finding in problem for problem in rule_violations(path)), rule_violations(path)
    if squawk_rule:
        assert squawk_rule in {finding["rule_name"] for finding in squawk(path)}

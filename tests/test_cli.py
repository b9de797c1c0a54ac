"""The `bookshop` command as a user runs it: a real process against a real database."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from bookshop.db import migrations
from bookshop.db.urls import DatabaseUrls, yoyo_url
from tests.conftest import ClientFactory, urls_for

BOOKSHOP = str(Path(sys.executable).with_name("bookshop"))


def run(
    *args: str, env: dict[str, str], cwd: Path | None = None, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [BOOKSHOP, *args], env={**os.environ, **env}, cwd=cwd, input=stdin, capture_output=True, text=True, timeout=60
    )


def test_migrate_list_rollback_apply(cli_env: dict[str, str]) -> None:
    listed = run("migrate", "list", env=cli_env)
    assert listed.returncode == 0, listed.stderr
    assert "0005_api_keys" in listed.stdout
    assert " no " not in listed.stdout

    ids = [migration_id for migration_id, _ in migrations.status(cli_env["MIGRATIONS_DATABASE_URL"])]
    rolled = run("migrate", "rollback", "--count", "2", env=cli_env)
    assert rolled.returncode == 0, rolled.stderr
    assert f"{ids[-1]}, {ids[-2]}" in rolled.stderr
    applied_now = [applied for _, applied in migrations.status(cli_env["MIGRATIONS_DATABASE_URL"])]
    assert applied_now == [True] * (len(ids) - 2) + [False, False]

    applied = run("migrate", "apply", env=cli_env)
    assert f"{ids[-2]}, {ids[-1]}" in applied.stderr
    assert "nothing to apply" in run("migrate", "apply", env=cli_env).stderr


async def test_keys_create_prints_a_working_key_once(cli_env: dict[str, str], make_client: ClientFactory) -> None:
    created = run("keys", "create", "--email", "ops@example.com", "--role", "staff", env=cli_env)
    assert created.returncode == 0, created.stderr
    key = created.stdout.strip()
    assert key.startswith("bk_")
    assert "\n" not in key
    promoted = run("keys", "create", "--email", "OPS@example.com", "--role", "admin", env=cli_env)
    assert "from staff to admin" in promoted.stderr

    async with make_client() as client:
        for token, role in [(key, "admin"), (promoted.stdout.strip(), "admin")]:
            me = await client.get("/me", headers={"Authorization": f"Bearer {token}"})
            assert (me.status_code, me.json()["role"]) == (200, role)


async def test_seed_demo_writes_working_keys_and_runs_once(
    cli_env: dict[str, str], tmp_path: Path, make_client: ClientFactory
) -> None:
    seeded = run("seed", "demo", env=cli_env, cwd=tmp_path)
    assert seeded.returncode == 0, seeded.stderr
    lines = [line.split() for line in (tmp_path / ".demo-keys.txt").read_text().splitlines()[1:]]
    assert [line[0] for line in lines] == ["admin", "staff", "customer"]
    assert oct((tmp_path / ".demo-keys.txt").stat().st_mode & 0o777) == "0o600"

    async with make_client() as client:
        listing = await client.get("/users", headers={"Authorization": f"Bearer {lines[0][2]}"})
        assert listing.status_code == 200
        assert listing.json()["total"] == 27

    again = run("seed", "demo", env=cli_env, cwd=tmp_path)
    assert again.returncode == 1
    assert "already has users" in again.stderr


def test_db_url_for_each_role_and_psql(cli_env: dict[str, str], database_urls: DatabaseUrls) -> None:
    assert run("db", "url", env=cli_env).stdout.strip() == database_urls.app
    assert run("db", "url", "--owner", env=cli_env).stdout.strip() == database_urls.owner
    yoyo_form = run("db", "url", "--yoyo", env=cli_env).stdout.strip()
    assert yoyo_form == yoyo_url(database_urls.owner)
    same_database = run("db", "url", env={**cli_env, "DATABASE_URL": yoyo_form}).stdout.strip()
    assert same_database == database_urls.owner

    as_owner = run("db", "psql", "--owner", env=cli_env, stdin="SELECT count(*) AS migrations FROM _yoyo_migration;\n")
    assert as_owner.returncode == 0, as_owner.stderr
    assert "migrations" in as_owner.stdout
    as_app = run("db", "psql", env=cli_env, stdin="SELECT current_user;\n")
    assert "bookshop_app" in as_app.stdout


def test_migrating_without_the_owner_url_warns_and_is_refused(cli_env: dict[str, str]) -> None:
    result = run("migrate", "list", env={**cli_env, "MIGRATIONS_DATABASE_URL": ""})
    assert result.returncode == 1
    assert "MIGRATIONS_DATABASE_URL is unset" in result.stderr
    assert "permission denied" in result.stderr
    assert "Traceback" not in result.stderr


async def test_db_bootstrap_prepares_a_new_database_on_a_server(
    server_url: str, admin_conn: asyncpg.Connection, template_urls: DatabaseUrls
) -> None:
    name = f"boot_{uuid.uuid4().hex[:12]}"
    urls = urls_for(server_url, name)
    env = {"DATABASE_URL": urls.app, "MIGRATIONS_DATABASE_URL": urls.owner}
    try:
        booted = run("db", "bootstrap", "--admin-url", server_url, env=env)
        assert booted.returncode == 0, booted.stderr
        assert await admin_conn.fetchval("SELECT datdba::regrole::text FROM pg_database WHERE datname = $1", name) == (
            "bookshop_owner"
        )
        assert run("migrate", "apply", env=env).returncode == 0
        again = run("db", "bootstrap", "--admin-url", server_url, env=env)
        assert again.returncode == 0, again.stderr
        swapped = run("db", "bootstrap", "--admin-url", server_url, env={**env, "DATABASE_URL": urls.owner})
        assert swapped.returncode == 2
        assert "must connect as bookshop_app" in swapped.stderr
    finally:
        await admin_conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


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


def test_a_bad_setting_stops_the_command_naming_the_variable(cli_env: dict[str, str]) -> None:
    result = run("db", "url", env={**cli_env, "POOL_MAX_SIZE": "lots"})
    assert result.returncode == 2
    assert "POOL_MAX_SIZE" in result.stderr


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def get_json(url: str, key: str | None = None) -> Any:
    response = httpx.get(url, headers={"Authorization": f"Bearer {key}"} if key else {}, timeout=5)
    response.raise_for_status()
    return response.json()


def test_serve_from_nothing_starts_the_embedded_database_with_demo_data(tmp_path: Path) -> None:
    """The README's first command, on a machine with no database: it serves the seeded API."""
    port = free_port()
    env = {**os.environ, "EMBEDDED_PGDATA": str(tmp_path / "pgdata"), "PORT": str(port)}
    env.pop("DATABASE_URL", None)
    server = subprocess.Popen(
        [BOOKSHOP, "serve"],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                assert get_json(f"http://127.0.0.1:{port}/ready") == {"status": "ready"}
                break
            except httpx.TransportError:
                assert server.poll() is None, server.stdout.read() if server.stdout else ""
                assert time.monotonic() < deadline, "the service did not become ready within 60 s"
                time.sleep(0.2)
        server_header = httpx.get(f"http://127.0.0.1:{port}/health", timeout=5).headers.get("server", "")
        assert not any(character.isdigit() for character in server_header), server_header  # no version
        admin_key = (tmp_path / ".demo-keys.txt").read_text().splitlines()[1].split()[2]
        page = get_json(f"http://127.0.0.1:{port}/users?per_page=5", admin_key)
        assert page["total"] == 27 + 20  # the demo accounts and the demo catalog's reviewers
        assert len(page["items"]) == 5
        books = get_json(f"http://127.0.0.1:{port}/books?limit=3")
        assert len(books["items"]) == 3
        assert books["next"]
        london = get_json(f"http://127.0.0.1:{port}/venues/nearby?lat=51.5074&lon=-0.1278&radius_km=25&limit=3")
        assert len(london) == 3  # the demo venues cluster around cities, London the biggest
        assert london[0]["distance_km"] <= london[2]["distance_km"] <= 25
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        output, _ = server.communicate(timeout=30)
        run("db", "stop", env={"EMBEDDED_PGDATA": str(tmp_path / "pgdata")}, cwd=tmp_path)
    assert f"http://127.0.0.1:{port}/schema" in output
    assert ".demo-keys.txt" in output


def test_the_worker_logs_json_lines_and_stops_on_sigterm(cli_env: dict[str, str]) -> None:
    worker = subprocess.Popen(
        [BOOKSHOP, "worker", "--poll-interval", "0.2"],
        env={**os.environ, **cli_env, "LOG_FORMAT": "json"},
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(2)
    worker.send_signal(signal.SIGTERM)
    _, errors = worker.communicate(timeout=20)
    assert worker.returncode == 0, errors
    lines = [json.loads(line) for line in errors.splitlines() if line.startswith("{")]
    messages = [(line["level"], line["logger"], line["message"]) for line in lines]
    assert any(level == "INFO" and "on queue default" in message for level, _, message in messages), errors
    assert any(message.endswith("stopped") for _, _, message in messages), errors

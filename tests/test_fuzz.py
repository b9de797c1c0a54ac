"""schemathesis, a client no one here wrote, fuzzes every operation of the served OpenAPI document
as each kind of caller, against `bookshop serve` on a database of its own, with every check it
has: no server error, every status, media type, header and body as the document says, and
schema-valid requests accepted, schema-violating ones refused (schemathesis.toml names the few
rules JSON Schema cannot state, each with its reason).

The suite runs a short round with a fixed seed (FUZZ_SECONDS per caller, 20 by default); `just
fuzz` runs a long one. Each run starts from a fresh clone of the migrated template, seeded with
the demo accounts and a small catalog, so a run is repeatable and leaves nothing behind.
"""

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from bookshop.db.urls import DatabaseUrls
from tests.support.accounts import TEST_PEPPER
from tests.support.cli import run
from tests.support.served import Served, serve

FUZZ_SECONDS = int(os.environ.get("FUZZ_SECONDS", "20"))
CALLERS = ("anonymous", "customer", "staff", "admin")  # admin last: it may revoke the others' keys
CONFIG = Path(__file__).resolve().parents[1] / "schemathesis.toml"
HOOKS = Path(__file__).resolve().parent / "support" / "schemathesis_hooks.py"


@pytest.fixture
def served(database_urls: DatabaseUrls, tmp_path: Path) -> Iterator[tuple[Served, dict[str, str]]]:
    """`bookshop serve` on this test's database with demo data, and the demo keys by role."""
    env = {
        **os.environ,
        "DATABASE_URL": database_urls.app,
        "MIGRATIONS_DATABASE_URL": database_urls.owner,
        "API_KEY_PEPPER": TEST_PEPPER,
    }
    seeded = run("seed", "demo", env=env, cwd=tmp_path)
    assert seeded.returncode == 0, seeded.stderr
    catalog = run("seed", "--books", "200", "--venues", "50", env=env, cwd=tmp_path)
    assert catalog.returncode == 0, catalog.stderr
    keys = {
        role: key
        for role, _, key in (line.split() for line in (tmp_path / ".demo-keys.txt").read_text().splitlines()[1:])
    }
    # The fuzzer is one address sending thousands of requests: no rate limit.
    with serve(database_urls, tmp_path, RATE_LIMIT_PER_MINUTE="0", LOG_LEVEL="WARNING") as server:
        yield server, keys


def test_every_generated_request_is_answered_as_the_document_says(
    served: tuple[Served, dict[str, str]], tmp_path: Path
) -> None:
    server, keys = served
    failed = []
    for caller in CALLERS:
        auth = ["-H", f"Authorization: Bearer {keys[caller]}"] if caller in keys else []
        fuzzed = subprocess.run(
            [
                *(sys.executable, "-m", "schemathesis.cli", "--no-color", "--config-file", str(CONFIG)),
                # Every check is on by default (`--checks all` would override schemathesis.toml).
                *("run", f"{server.base}/schema/openapi.json"),
                *("--max-time", str(FUZZ_SECONDS), "--seed", "1", "--workers", "1"),
                *auth,
            ],
            cwd=tmp_path,
            env={**os.environ, "SCHEMATHESIS_HOOKS": str(HOOKS)},
            capture_output=True,
            text=True,
            timeout=FUZZ_SECONDS * 4 + 120,
            check=False,
        )
        print(f"--- {caller} ---\n{fuzzed.stdout[-3000:]}")
        if fuzzed.returncode != 0:
            failed.append(f"as {caller}:\n{fuzzed.stdout[-8000:]}\n{fuzzed.stderr[-2000:]}")
    assert not failed, "\n\n".join(failed)

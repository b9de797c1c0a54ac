"""`bookshop doctor` as a user runs it: a real process against the test's own database."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bookshop.db import migrations
from bookshop.db.urls import DatabaseUrls
from tests.support.accounts import TEST_PEPPER

BOOKSHOP = str(Path(sys.executable).with_name("bookshop"))


def doctor(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [BOOKSHOP, "doctor", *args],
        env={**os.environ, **env, "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture
def doctor_env(database_urls: DatabaseUrls) -> dict[str, str]:
    """Only the application role's URL: the doctor needs no owner's password."""
    return {"DATABASE_URL": database_urls.app, "API_KEY_PEPPER": TEST_PEPPER}


def test_doctor_exits_0_on_the_project_schema_and_1_on_a_pending_migration(
    doctor_env: dict[str, str], database_urls: DatabaseUrls
) -> None:
    healthy = doctor(env=doctor_env)
    assert healthy.returncode == 0, healthy.stdout + healthy.stderr
    assert "no problems found" in healthy.stdout
    assert "foreign keys: every one has an index that serves it" in healthy.stdout
    assert "migrations: every one is applied" in healthy.stdout
    assert "Slowest statements by mean time (pg_stat_statements)" in healthy.stdout
    assert "note:" not in healthy.stdout

    [rolled_back] = migrations.rollback(database_urls.owner, count=1)
    sick = doctor("--threshold", "30", "--order-by", "total", env=doctor_env)
    assert sick.returncode == 1, sick.stdout + sick.stderr
    assert f"migration {rolled_back} is not applied" in sick.stdout
    assert "session threshold 30 s" in sick.stdout
    assert "Slowest statements by total time" in sick.stdout

    as_json = doctor("--json", env=doctor_env)
    assert as_json.returncode == 1
    report = json.loads(as_json.stdout)
    assert report["migrations"]["pending"] == [rolled_back]
    assert report["problems"] == [f"migration {rolled_back} is not applied"]


def test_doctor_refuses_a_bad_threshold(doctor_env: dict[str, str]) -> None:
    refused = doctor("--threshold", "0", env=doctor_env)
    assert refused.returncode == 2
    assert "--threshold" in refused.stderr

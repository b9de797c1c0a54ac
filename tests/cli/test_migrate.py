"""`bookshop migrate`: list, roll back and apply, as the owner role."""

from bookshop.db import migrations
from tests.support.cli import run


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


def test_migrating_without_the_owner_url_warns_and_is_refused(cli_env: dict[str, str]) -> None:
    result = run("migrate", "list", env={**cli_env, "MIGRATIONS_DATABASE_URL": ""})
    assert result.returncode == 1
    assert "MIGRATIONS_DATABASE_URL is unset" in result.stderr
    assert "permission denied" in result.stderr
    assert "Traceback" not in result.stderr

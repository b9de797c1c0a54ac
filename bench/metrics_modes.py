"""What recording a metric costs in each of prometheus_client's two modes (issue 15).

Under `bookshop serve` the workers write their metrics to files in a shared folder
(prometheus_client's multiprocess mode: a lock and an mmap write per value) so that one scrape
covers them all; one app alone in a process (the tests) keeps them in memory. This times, in one
process with nothing else running in it, the two things every request does: the request's
counter and histogram (`Metrics.observe_request`, as http/observe.py calls it) and one named
query's histogram (as db/query_log.py does), each mode in a fresh interpreter (the mode is
fixed when prometheus_client is imported). The figure is the best of REPEATS runs of CALLS calls.
Results are printed and recorded in bench/results/ (metrics_modes.json, README.md).

Run from the project root:
    uv run python bench/metrics_modes.py [--calls N]
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import timeit
from collections.abc import Callable
from dataclasses import dataclass

from measure import positive_int
from recording import RunReport, command, machine_facts, now, publish, section

REPEATS = 5
MODES = ("memory", "multiprocess")


@dataclass(frozen=True)
class Mode:
    mode: str
    observe_request_us: float
    query_observe_us: float


@dataclass(frozen=True)
class Report(RunReport):
    modes: list[Mode]


def measure_here(calls: int) -> dict[str, float]:
    """In this interpreter, whose mode the environment fixed before the import below."""
    from bookshop.http.metrics import Metrics

    metrics = Metrics()
    query = metrics.query_seconds.labels(query="catalog.get_book_detail")

    def best(call: Callable[[], object]) -> float:
        return min(timeit.repeat(call, number=calls, repeat=REPEATS)) / calls * 1e6

    return {
        "observe_request_us": best(lambda: metrics.observe_request("GET", "/books/{id_or_slug}", 200, 0.003)),
        "query_observe_us": best(lambda: query.observe(0.0007)),
    }


def measure_in(mode: str, calls: int) -> Mode:
    env = {key: value for key, value in os.environ.items() if key != "PROMETHEUS_MULTIPROC_DIR"}
    with tempfile.TemporaryDirectory(prefix="bench-metrics-") as folder:
        if mode == "multiprocess":
            env["PROMETHEUS_MULTIPROC_DIR"] = folder
        output = subprocess.run(
            [sys.executable, __file__, "--inside", "--calls", str(calls)],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    return Mode(mode=mode, **json.loads(output))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=positive_int, default=200_000, help="calls per run (200,000)")
    parser.add_argument("--inside", action="store_true", help=argparse.SUPPRESS)  # the measuring child
    args = parser.parse_args()
    if args.inside:
        print(json.dumps(measure_here(args.calls)))
        return
    modes = [measure_in(mode, args.calls) for mode in MODES]
    report = Report(
        benchmark="metrics_modes",
        date=now(),
        command=command(__file__, sys.argv[1:]),
        machine=machine_facts(),
        setup=f"one process per mode, best of {REPEATS} runs of {args.calls:,} calls",
        modes=modes,
    )
    rows = [f"| {m.mode} | {m.observe_request_us:.2f} | {m.query_observe_us:.2f} |" for m in modes]
    table = "\n".join(
        ["| mode | a request's counter + histogram, µs | a query's histogram, µs |", "|---|---:|---:|", *rows]
    )
    publish(
        "metrics_modes",
        report,
        table=table,
        section=section(
            "metrics_modes",
            date=report.date,
            command=report.command,
            machine=report.machine,
            body=f"- Setup: {report.setup}\n\n{table}",
        ),
    )


if __name__ == "__main__":
    main()

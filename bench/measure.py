"""Measuring helpers the benchmarks share: latency percentiles, throughput, medians of rounds,
and the command-line number types."""

import argparse
import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Metrics:
    ops_per_second: float
    p50_ms: float
    p95_ms: float
    p99_ms: float


def percentile_ms(sorted_seconds: Sequence[float], percent: float) -> float:
    """Nearest-rank percentile of sorted durations in seconds, in milliseconds."""
    rank = max(1, math.ceil(percent / 100 * len(sorted_seconds)))
    return sorted_seconds[rank - 1] * 1000


@dataclass(frozen=True)
class Timing:
    """Latencies of one-at-a-time runs: percentiles, mean and range, in milliseconds."""

    runs: int
    p50_ms: float
    p95_ms: float
    p99_ms: float
    mean_ms: float
    min_ms: float
    max_ms: float


def timing(durations: Sequence[float]) -> Timing:
    if not durations:
        raise RuntimeError("nothing was measured")
    ordered = sorted(durations)
    return Timing(
        runs=len(ordered),
        p50_ms=percentile_ms(ordered, 50),
        p95_ms=percentile_ms(ordered, 95),
        p99_ms=percentile_ms(ordered, 99),
        mean_ms=sum(ordered) / len(ordered) * 1000,
        min_ms=ordered[0] * 1000,
        max_ms=ordered[-1] * 1000,
    )


def metrics(latencies: list[float], seconds: float) -> Metrics:
    if not latencies:
        raise RuntimeError("no request completed in the measured window")
    ordered = sorted(latencies)
    return Metrics(
        ops_per_second=len(ordered) / seconds,
        p50_ms=percentile_ms(ordered, 50),
        p95_ms=percentile_ms(ordered, 95),
        p99_ms=percentile_ms(ordered, 99),
    )


def median_metrics(rounds: Sequence[Metrics]) -> Metrics:
    """The median of each figure over the rounds of one variant."""
    return Metrics(
        ops_per_second=statistics.median(m.ops_per_second for m in rounds),
        p50_ms=statistics.median(m.p50_ms for m in rounds),
        p95_ms=statistics.median(m.p95_ms for m in rounds),
        p99_ms=statistics.median(m.p99_ms for m in rounds),
    )


def ratio(b: Metrics, a: Metrics) -> Metrics:
    return Metrics(
        ops_per_second=b.ops_per_second / a.ops_per_second,
        p50_ms=b.p50_ms / a.p50_ms,
        p95_ms=b.p95_ms / a.p95_ms,
        p99_ms=b.p99_ms / a.p99_ms,
    )


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def positive_float(text: str) -> float:
    value = float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError("must be above 0")
    return value


def add_load_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of a pool benchmark's load: clients, seconds per round, rounds per variant."""
    parser.add_argument("--clients", type=positive_int, default=16, help="concurrent clients (16)")
    parser.add_argument("--seconds", type=positive_float, default=10.0, help="measured seconds per round (10)")
    parser.add_argument("--rounds", type=positive_int, default=2, help="rounds per variant, alternating (2)")

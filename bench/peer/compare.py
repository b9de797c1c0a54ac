"""bookshop against the peer (FastAPI + SQLAlchemy 2 async ORM + pydantic v2 on uvicorn), side by side.

Both serve the same embedded PostgreSQL, the catalog data set bench/catalog.py uses
(bench/.data/catalog, made with `bookshop migrate apply` and `bookshop seed --books N`, reused
while the book count matches), as the application role, over its Unix socket. bookshop runs as
`bookshop serve --workers 1` (granian, rate limit off, no access lines; bench/served.py), the peer
as `uvicorn --workers 1` (uvloop and httptools, no access lines), both on loopback.

Before timing anything it checks that the peer answers as bookshop does: the same JSON for the
detail of sampled books and for unknown slugs' status, the same hits in the same order (and the
same suggestions) for searches, and the same numbered listing pages with their total; a
difference fails the run. Search cursors (`next`) are compared for presence only: bookshop signs
its cursors with its own secret.

Then wrk (Debian's package, apt-installed when missing) drives each endpoint with --connections
(16) connections, in interleaved rounds (bookshop, peer, bookshop, peer…), each a warm-up then
--seconds measured (--listing-seconds for the numbered listing, whose requests take seconds:
wrk counts only the requests that completed, so the ones still in flight when a round ends, up to
one per connection, weigh less in a longer round); the detail endpoint cycles through the
sampled slugs. A round with any
non-2xx answer or socket error rejects the run: nothing is recorded in bench/results/ (the
figures go to bench/.data/peer-rejected.json) and the script exits with status 1.

The detail endpoint is also measured without HTTP: raw asyncpg in this script's process, on
uvloop as the server is, running the statement bookshop runs (get_book_detail, the same slugs)
from --connections concurrent tasks on a pool of bookshop's default size, with bookshop's codecs;
its rounds interleave with the servers', and its CPU per request is this process's.

Recorded: requests/s and latency percentiles per endpoint and server (the median round), the
ratios bookshop/peer, each server's CPU time per request (user + sys of its process group over
the measured window ÷ requests), the load average around every round, and the machine; as
bench/results/peer.json, a chart bench/results/peer.svg and a section of bench/results/README.md.

Run from the project root:
    uv run python bench/peer/compare.py [--books N] [--seconds S] [--listing-seconds S] [--rounds R]
        [--connections C]
"""

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

PEER_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(PEER_DIR.parent))  # bench/: the shared benchmark modules

import asyncpg  # noqa: E402
import catalog  # noqa: E402
import httpx  # noqa: E402
import uvloop  # noqa: E402
import wrk as wrk_tool  # noqa: E402
from measure import positive_float, positive_int  # noqa: E402
from recording import PROJECT_ROOT, command, display, machine_facts, now, publish, results_dir, section  # noqa: E402
from served import free_port, start_server, stop_server, wait_ready  # noqa: E402
from wrk import Round  # noqa: E402

from bookshop.db import embedded  # noqa: E402
from bookshop.db.pool import PooledConnection, init_connection  # noqa: E402
from bookshop.db.queries import queries  # noqa: E402
from bookshop.db.urls import DatabaseUrls  # noqa: E402
from bookshop.settings import Settings  # noqa: E402

DATA_DIR = PEER_DIR.parent / ".data"
WORK_DIR = DATA_DIR / "peer"
REJECTED_FILE = DATA_DIR / "peer-rejected.json"
READY_TIMEOUT_SECONDS = 60.0

SAMPLE_SLUGS = 1_000  # the detail endpoint cycles through these
CHECKED_SLUGS = 100  # of which this many are compared answer by answer
SEARCHED = "quasar"  # a rare word the seed plants (one book in 10,000): the timed search
CHECKED_SEARCHES = ("quasar", "zeppelin", '"winter garden"', "night", "nigth")  # the last one: no hit, suggestions
CHECKED_PAGES = ((1, 20), (2, 20), (3, 7), (50, 100))
LISTING = "/books?page=1&per_page=20"
TOTAL_TOLERANCE = 0.02  # how far bookshop's estimated total of a numbered listing may be from the count

HITS_SQL = """
SELECT count(*) FROM books
WHERE search @@ websearch_to_tsquery('english', $1) AND is_published AND deleted_at IS NULL
"""

# --- data and servers --------------------------------------------------------------------------


def start_peer(urls: DatabaseUrls, port: int, log: Path) -> subprocess.Popen[bytes]:
    """The peer on uvicorn, one worker, in its own process group, on its own locked environment."""
    env = {**os.environ, "DATABASE_URL": urls.app}
    env.pop("VIRTUAL_ENV", None)  # the main project's, which `uv run` exports
    arguments = ["--app-dir", str(PEER_DIR), "app:app", "--host", "127.0.0.1", "--port", str(port)]
    arguments += ["--workers", "1", "--no-access-log", "--log-level", "warning"]
    with log.open("wb") as output:
        return subprocess.Popen(
            ["uv", "run", "--frozen", "--project", str(PEER_DIR), "uvicorn", *arguments],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


async def wait_peer(client: httpx.AsyncClient, server: subprocess.Popen[bytes], log: Path) -> None:
    async with asyncio.timeout(READY_TIMEOUT_SECONDS):
        while True:
            if server.poll() is not None:
                raise RuntimeError(f"the peer exited with {server.returncode}; see {display(log)}")
            try:
                if (await client.get("/health")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)


# --- the same data -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Check:
    request: str
    same: bool
    detail: str


async def compare_answers(bookshop: httpx.AsyncClient, peer: httpx.AsyncClient, slugs: Sequence[str]) -> list[Check]:
    checks: list[Check] = []

    async def both(path: str) -> tuple[httpx.Response, httpx.Response]:
        return await bookshop.get(path), await peer.get(path)

    for path in ["/health", *(f"/books/{slug}" for slug in slugs[:CHECKED_SLUGS])]:
        ours, theirs = await both(path)
        same = ours.status_code == theirs.status_code == 200 and ours.json() == theirs.json()
        checks.append(Check(path, same, "" if same else f"{ours.text[:300]} != {theirs.text[:300]}"))
    ours, theirs = await both("/books/no-such-book-here")
    checks.append(Check("/books/no-such-book-here", ours.status_code == theirs.status_code == 404, ""))
    for words in CHECKED_SEARCHES:
        path = f"/books/search?q={quote(words)}"
        ours, theirs = await both(path)
        same = ours.status_code == theirs.status_code == 200
        detail = f"{ours.status_code} != {theirs.status_code}"
        if same and ours.json()["ranking_bounded"]:
            # bookshop ranks only the newest SEARCH_RANK_LIMIT matches of a broad query, the peer
            # ranks every match: by design not the same hits; the bounded page is its own check.
            bounded = ours.json()["items"]
            same = len(bounded) == len(theirs.json()["items"])
            checks.append(Check(path, same, f"ranking bounded: {len(bounded)} hits, not compared hit by hit"))
            continue
        if same:
            a, b = ours.json(), theirs.json()
            same = a["items"] == b["items"] and a["suggestions"] == b["suggestions"]
            same = same and (a["next"] is None) == (b["next"] is None)
            detail = f"{len(a['items'])} hits, {len(a['suggestions'])} suggestions"
            if not same:
                detail = f"{[i['slug'] for i in a['items']]} != {[i['slug'] for i in b['items']]}"
        checks.append(Check(path, same, detail))
    for page, per_page in CHECKED_PAGES:
        path = f"/books?page={page}&per_page={per_page}"
        ours, theirs = await both(path)
        same = ours.status_code == theirs.status_code == 200
        detail = f"{ours.status_code} != {theirs.status_code}"
        if same:
            a, b = ours.json(), theirs.json()
            same, detail = same_numbered_page(a, b)
        checks.append(Check(path, same, detail))
    return checks


def same_numbered_page(ours: dict[str, Any], theirs: dict[str, Any]) -> tuple[bool, str]:
    """The same page of the same listing. The peer counts its total; bookshop counts it up to
    EXACT_TOTAL_LIMIT and estimates above, saying so (total_exact): an estimate must be within
    TOTAL_TOLERANCE of the count, and its pages follow from it."""
    exact = ours.pop("total_exact")
    total, counted = ours.pop("total"), theirs.pop("total")
    pages, counted_pages = ours.pop("pages"), theirs.pop("pages")
    if ours != theirs:
        return False, f"{json.dumps(ours)[:300]} != {json.dumps(theirs)[:300]}"
    if exact:
        return (total, pages) == (counted, counted_pages), f"exact total {total:,} vs {counted:,}"
    close = abs(total - counted) <= TOTAL_TOLERANCE * counted and pages == -(-total // ours["per_page"])
    return close, f"estimated total {total:,} vs counted {counted:,}"


RAW = "raw asyncpg"


def raw_detail_round(app_url: str, slugs: Sequence[str], round_number: int, seconds: float, connections: int) -> Round:
    """The detail statement straight on an asyncpg pool: the floor bookshop's HTTP layer adds to."""
    statement = queries.catalog.get_book_detail.sql
    latencies: list[float] = []
    errors = 0

    async def measure() -> tuple[float, float]:
        nonlocal errors
        pool = await asyncpg.create_pool(
            app_url,
            min_size=Settings().pool_max_size,
            max_size=Settings().pool_max_size,
            connection_class=PooledConnection,
            init=init_connection,
        )
        assert pool is not None
        deadline = asyncio.get_running_loop().time() + seconds

        async def client(first: int) -> None:
            nonlocal errors
            index = first
            while asyncio.get_running_loop().time() < deadline:
                started = time.perf_counter()
                async with pool.acquire(timeout=5) as conn:
                    row = await conn.fetchrow(statement, None, slugs[index % len(slugs)])
                latencies.append(time.perf_counter() - started)
                errors += row is None
                index += connections

        try:
            cpu, wall = time.process_time(), time.perf_counter()
            await asyncio.gather(*(client(n) for n in range(connections)))
            return time.process_time() - cpu, time.perf_counter() - wall
        finally:
            await pool.close()

    load_before = wrk_tool.load_average()
    cpu, wall = uvloop.run(measure())
    latencies.sort()
    mean = statistics.fmean(latencies)

    def percentile(q: float) -> float:
        return latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000

    result = Round(
        server=RAW,
        endpoint="detail",
        round=round_number,
        seconds=wall,
        requests=len(latencies),
        requests_per_second=len(latencies) / wall,
        requests_per_second_by_latency=connections / mean,
        p50_ms=percentile(0.50),
        p90_ms=percentile(0.90),
        p95_ms=percentile(0.95),
        p99_ms=percentile(0.99),
        max_ms=latencies[-1] * 1000,
        mean_ms=mean * 1000,
        errors={"missing": errors},
        cpu_ms_per_request=cpu * 1000 / len(latencies),
        load_before=load_before,
        load_after=wrk_tool.load_average(),
    )
    print(
        f"  round {round_number} {RAW:8} detail   {result.requests_per_second:9,.1f} req/s"
        f"  p50 {result.p50_ms:8.2f} ms  p99 {result.p99_ms:8.2f} ms  cpu {result.cpu_ms_per_request:6.2f} ms/req",
        flush=True,
    )
    return result


# --- results ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Median:
    requests_per_second: float
    requests_per_second_by_latency: float
    p50_ms: float
    p90_ms: float
    p95_ms: float
    p99_ms: float
    cpu_ms_per_request: float


@dataclass(frozen=True)
class Endpoint:
    endpoint: str
    path: str  # the one wrk requests (detail: the first of the slugs it cycles through)
    bookshop: Median
    peer: Median
    ratio: float  # requests/s bookshop ÷ peer
    p99_ratio: float  # p99 peer ÷ bookshop: above 1 when bookshop answers faster


@dataclass(frozen=True)
class Report:
    date: str
    command: str
    machine: dict[str, str]
    postgresql: str
    books: int
    listed: int
    search_hits: int  # live published books that hold SEARCHED
    data_reused: bool
    connections: int
    seconds: float
    listing_seconds: float
    rounds: int
    warmup_seconds: float
    checks: list[Check]
    endpoints: list[Endpoint]
    raw_detail: Median  # the detail statement on raw asyncpg, no HTTP
    detail_vs_raw: float  # bookshop's detail requests/s ÷ raw asyncpg's
    runs: list[Round]
    load_average_start: list[float]
    load_average_end: list[float]
    rejected: bool
    benchmark: str = "peer"


def median(runs: Sequence[Round]) -> Median:
    return Median(
        requests_per_second=statistics.median(run.requests_per_second for run in runs),
        requests_per_second_by_latency=statistics.median(run.requests_per_second_by_latency for run in runs),
        p50_ms=statistics.median(run.p50_ms for run in runs),
        p90_ms=statistics.median(run.p90_ms for run in runs),
        p95_ms=statistics.median(run.p95_ms for run in runs),
        p99_ms=statistics.median(run.p99_ms for run in runs),
        cpu_ms_per_request=statistics.median(run.cpu_ms_per_request for run in runs),
    )


LABELS = {
    "health": "GET /health",
    "detail": "book detail",
    "search": f"search, a rare word ({SEARCHED})",
    "listing": "numbered listing page 1 + total",
}


def chart(report: dict[str, Any]) -> str:
    """A hand-written SVG of a run (as peer.json holds it): per endpoint, both servers'
    requests/s on that endpoint's own scale."""
    width, left, bar_width, row_height = 900, 280, 330, 74
    endpoints = report["endpoints"]
    loads = [run["load_before"][0] for run in report["runs"]]
    height = 70 + row_height * len(endpoints) + 40
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif"'
        f' font-size="13">',
        f'<rect width="{width}" height="{height}" fill="white"/>',
        f'<text x="20" y="28" font-size="16" font-weight="bold">bookshop vs the ORM stack: requests/s,'
        f" {report['connections']} connections</text>",
        f'<text x="20" y="48" fill="#555">{report["books"]:,} books; {report["machine"]["nproc"]} shared cores,'
        f" one-minute load average {min(loads):.1f} to {max(loads):.1f}; median of {report['rounds']} alternating"
        f" rounds of {report['seconds']:g} s (listing {report['listing_seconds']:g} s)</text>",
    ]
    for index, endpoint in enumerate(endpoints):
        top = 70 + index * row_height
        scale = bar_width / max(endpoint["bookshop"]["requests_per_second"], endpoint["peer"]["requests_per_second"])
        parts.append(f'<text x="20" y="{top + 22}" font-weight="bold">{LABELS[endpoint["endpoint"]]}</text>')
        parts.append(f'<text x="20" y="{top + 42}" fill="#555">bookshop/peer {endpoint["ratio"]:.2f}x</text>')
        for offset, (name, colour) in enumerate((("bookshop", "#2b6cb0"), ("peer", "#dd6b20"))):
            figures = endpoint[name]
            y = top + 8 + offset * 26
            length = max(1.0, figures["requests_per_second"] * scale)
            parts.append(f'<rect x="{left}" y="{y}" width="{length:.1f}" height="20" fill="{colour}"/>')
            parts.append(
                f'<text x="{left + length + 6:.1f}" y="{y + 15}">{name} {figures["requests_per_second"]:,.1f}'
                f" (p99 {figures['p99_ms']:,.1f} ms)</text>"
            )
    parts.append(
        f'<text x="20" y="{height - 14}" fill="#555">Each row has its own scale. bench/peer/compare.py,'
        f" {report['date']}</text>"
    )
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def draw(report: dict[str, Any]) -> None:
    svg = results_dir() / "peer.svg"
    svg.write_text(chart(report))
    print(f"chart: {display(svg)}")


def table(report: Report) -> str:
    lines = [
        "| endpoint | bookshop req/s | peer req/s | ratio | bookshop p50 / p99 ms | peer p50 / p99 ms"
        " | CPU ms/request bookshop / peer | req/s by latency (connections ÷ mean) bookshop / peer |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for e in report.endpoints:
        lines.append(
            f"| {LABELS[e.endpoint]} | {e.bookshop.requests_per_second:,.1f} | {e.peer.requests_per_second:,.1f}"
            f" | {e.ratio:.2f}x | {e.bookshop.p50_ms:,.2f} / {e.bookshop.p99_ms:,.2f}"
            f" | {e.peer.p50_ms:,.2f} / {e.peer.p99_ms:,.2f}"
            f" | {e.bookshop.cpu_ms_per_request:.2f} / {e.peer.cpu_ms_per_request:.2f}"
            f" | {e.bookshop.requests_per_second_by_latency:,.1f} / {e.peer.requests_per_second_by_latency:,.1f} |"
        )
    raw = report.raw_detail
    lines.append(
        f"| book detail, {RAW} (no HTTP) | {raw.requests_per_second:,.1f} | | bookshop {report.detail_vs_raw:.2f}x"
        f" | {raw.p50_ms:,.2f} / {raw.p99_ms:,.2f} | | {raw.cpu_ms_per_request:.2f} |"
        f" {raw.requests_per_second_by_latency:,.1f} |"
    )
    return "\n".join(lines)


def readme_section(report: Report) -> str:
    loads = [run.load_before[0] for run in report.runs]
    same = sum(check.same for check in report.checks)
    body = (
        f"{report.books:,} books ({report.listed:,} listed; `{SEARCHED}` in {report.search_hits:,} of them),"
        f" wrk with {report.connections} connections, {report.rounds} interleaved rounds of {report.seconds:g} s"
        f" ({report.listing_seconds:g} s for the listing) per endpoint and server after a"
        f" {report.warmup_seconds:g} s warm-up; the median round. The peer returned"
        f" the same data as bookshop for {same} of {len(report.checks)} requests checked. One-minute load average"
        f" {report.load_average_start[0]:.2f} at the start, {min(loads):.2f} to {max(loads):.2f} before the rounds,"
        f" on {report.machine['nproc']} shared cores. Chart: [peer.svg](peer.svg).\n\n{table(report)}"
    )
    return section("peer", date=report.date, command=report.command, machine=report.machine, body=body)


# --- the run ---------------------------------------------------------------------------------------


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.partition("\n")[0] if __doc__ else None)
    parser.add_argument("--books", type=positive_int, default=1_000_000, help="books in the data set (1,000,000)")
    parser.add_argument("--seconds", type=positive_float, default=10.0, help="measured seconds per round (10)")
    parser.add_argument(
        "--listing-seconds", type=positive_float, default=10.0, help="measured seconds per listing round (10)"
    )
    parser.add_argument("--warmup", type=positive_float, default=3.0, help="warm-up seconds per server (3)")
    parser.add_argument("--rounds", type=positive_int, default=3, help="rounds per endpoint and server (3)")
    parser.add_argument("--connections", type=positive_int, default=16, help="wrk connections (16)")
    parser.add_argument("--timeout", type=positive_float, default=30.0, help="wrk's request timeout, s (30)")
    parser.add_argument("--chart-only", action="store_true", help="redraw peer.svg from peer.json, measure nothing")
    return parser.parse_args(argv)


async def facts(owner_url: str) -> tuple[list[str], int, int, str]:
    conn = await asyncpg.connect(owner_url)
    try:
        slugs = await catalog.sample_slugs(conn, SAMPLE_SLUGS)
        listed = await conn.fetchval("SELECT count(*) FROM books WHERE is_published AND deleted_at IS NULL")
        hits = await conn.fetchval(HITS_SQL, SEARCHED)
        version = await conn.fetchval("SHOW server_version")
    finally:
        await conn.close()
    return slugs, listed, hits, version


async def check_and_wait(
    urls: DatabaseUrls,
    ports: dict[str, int],
    servers: dict[str, subprocess.Popen[bytes]],
    logs: dict[str, Path],
    slugs: Sequence[str],
) -> list[Check]:
    async with (
        httpx.AsyncClient(base_url=f"http://127.0.0.1:{ports['bookshop']}", timeout=60) as bookshop,
        httpx.AsyncClient(base_url=f"http://127.0.0.1:{ports['peer']}", timeout=60) as peer,
    ):
        await wait_ready(bookshop, servers["bookshop"], log=logs["bookshop"])
        await wait_peer(peer, servers["peer"], logs["peer"])
        return await compare_answers(bookshop, peer, slugs)


def main(argv: Sequence[str]) -> None:
    args = parse_args(argv)
    if args.chart_only:
        draw(json.loads((results_dir() / "peer.json").read_text()))
        return
    wrk = wrk_tool.program()
    WORK_DIR.mkdir(parents=True, exist_ok=True)
    servers: dict[str, subprocess.Popen[bytes]] = {}
    try:
        urls, reused = catalog.prepare_warm(args.books)
        slugs, listed, hits, version = asyncio.run(facts(urls.owner))
        load_start = wrk_tool.load_average()
        ports = {"bookshop": free_port(), "peer": free_port()}
        logs = {name: WORK_DIR / f"{name}.log" for name in ports}
        servers["bookshop"] = start_server(urls, ports["bookshop"], env=dict(os.environ), log=logs["bookshop"])
        servers["peer"] = start_peer(urls, ports["peer"], logs["peer"])
        checks = asyncio.run(check_and_wait(urls, ports, servers, logs, slugs))
        for check in checks:
            print(f"  {'same' if check.same else 'DIFFERENT'}  {check.request}  {check.detail[:200]}")
        if not all(check.same for check in checks):
            raise SystemExit("the peer does not return the same data as bookshop: nothing measured")
        paths = {
            "health": ["/health"],
            "detail": [f"/books/{slug}" for slug in slugs],
            "search": [f"/books/search?q={quote(SEARCHED)}"],
            "listing": [LISTING],
        }
        runs: list[Round] = []
        for endpoint, endpoint_paths in paths.items():
            script = wrk_tool.script(WORK_DIR, endpoint, endpoint_paths)
            print(f"{endpoint}: warm-up {args.warmup:g} s per server", flush=True)
            for name in servers:
                wrk_tool.run(
                    wrk, ports[name], script, connections=args.connections, seconds=args.warmup, timeout=args.timeout
                )
            for round_number in range(1, args.rounds + 1):
                for name, server in servers.items():
                    seconds = args.listing_seconds if endpoint == "listing" else args.seconds
                    runs.append(
                        wrk_tool.measure_round(
                            wrk,
                            server=name,
                            group=server.pid,
                            port=ports[name],
                            endpoint=endpoint,
                            script=script,
                            round_number=round_number,
                            seconds=seconds,
                            connections=args.connections,
                            timeout=args.timeout,
                        )
                    )
                if endpoint == "detail":
                    runs.append(raw_detail_round(urls.app, slugs, round_number, args.seconds, args.connections))
    finally:
        for server in servers.values():
            stop_server(server)
        embedded.stop(catalog.PGDATA)
    endpoints = []
    for endpoint, endpoint_paths in paths.items():
        ours = median([run for run in runs if run.endpoint == endpoint and run.server == "bookshop"])
        theirs = median([run for run in runs if run.endpoint == endpoint and run.server == "peer"])
        endpoints.append(
            Endpoint(
                endpoint=endpoint,
                path=endpoint_paths[0],
                bookshop=ours,
                peer=theirs,
                ratio=ours.requests_per_second / theirs.requests_per_second,
                p99_ratio=theirs.p99_ms / ours.p99_ms,
            )
        )
    rejected = any(sum(run.errors.values()) for run in runs)
    raw_detail = median([run for run in runs if run.server == RAW])
    detail = next(e for e in endpoints if e.endpoint == "detail")
    report = Report(
        date=now(),
        command=command(__file__, argv),
        machine=machine_facts({"wrk": wrk_tool.version(wrk)}),
        postgresql=version,
        books=args.books,
        listed=listed,
        search_hits=hits,
        data_reused=reused,
        connections=args.connections,
        seconds=args.seconds,
        listing_seconds=args.listing_seconds,
        rounds=args.rounds,
        warmup_seconds=args.warmup,
        checks=checks,
        endpoints=endpoints,
        raw_detail=raw_detail,
        detail_vs_raw=detail.bookshop.requests_per_second / raw_detail.requests_per_second,
        runs=runs,
        load_average_start=load_start,
        load_average_end=wrk_tool.load_average(),
        rejected=rejected,
    )
    if rejected:
        REJECTED_FILE.write_text(json.dumps(asdict(report), indent=2, ensure_ascii=False) + "\n")
        print(table(report))
        raise SystemExit(f"rejected: some answers were errors (see {display(REJECTED_FILE)}); nothing recorded")
    publish(report.benchmark, report, table=table(report), section=readme_section(report))
    draw(asdict(report))


if __name__ == "__main__":
    main(sys.argv[1:])

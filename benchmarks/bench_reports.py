"""Report speed: the full HTML report on a large synthetic workspace, on SQLite and PostgreSQL.

Run:  python benchmarks/bench_reports.py [--sizes 25 50 100] [--backends sqlite postgresql]
          [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/test] [--profile 30]

At 100 % the workspace has 100 accounts with two years of hourly follower snapshots (1.75 million
rows, with planted outages and one follower purge) and 50,000 posts with five metric readings
each (some deleted early, some whose likes drop), plus three goals. Smaller sizes scale accounts
and posts together. Rows are written in bulk: ``executemany`` on SQLite, ``COPY`` on PostgreSQL
(in a private schema that is dropped afterwards).

Each measurement runs in a fresh Python process (imports done before the clock starts), builds
the report exactly as ``brandkit report --format html`` does, for the last calendar month and for
all two years, and prints: wall time (median of three runs), the peak of Python allocations while
building and rendering (``tracemalloc``, a separate fourth run), the process's peak resident set
over all four runs (``VmHWM``, which is ``getrusage``'s ``ru_maxrss`` without what Linux carries
over from the parent; see :func:`peak_rss_mb`: interpreter, libraries, SQLite's page cache and
the driver's buffers included) and that peak before the first report ("base": the imports).
``--profile N`` runs the whole-history report once more under ``cProfile`` and prints its N
most expensive calls (cumulative time) after each such line.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, create_engine, text

from brandkit.db.engine import make_engine, session_scope
from brandkit.db.migrate import upgrade
from brandkit.db.models import Account, Profile, Workspace
from brandkit.reports.goals import add_goal

END = datetime(2026, 11, 30, 15, 0, tzinfo=UTC)  # 2026-12-01 00:00 in Tokyo
PLATFORMS = ("mastodon", "x", "bluesky", "threads")
WITH_IMPRESSIONS = {"x", "threads"}
TEMPLATES = tuple(
    f"{lang}/{name}"
    for lang, names in (
        ("ja", "health_tip clinic_news patient_faq myth_busting seasonal_alert paper_intro"),
        ("en", "health_tip conference_report patient_faq self_introduction"),
    )
    for name in names.split()
)
LOCAL_HOURS = (7, 8, 12, 12, 18, 19, 20, 21, 21, 22)
READINGS = ((timedelta(hours=1), 0.3), (timedelta(days=1), 0.7), (timedelta(days=3), 0.9))
READINGS += ((timedelta(days=7), 0.97), (timedelta(days=29, hours=12), 1.0))
TEXT = {"ja": "睡眠の質を上げるには、寝る前の画面を控えましょう。" * 30, "en": "Sleep well. " * 80}


@dataclass(frozen=True)
class Scale:
    """How big the synthetic workspace is; ``percent`` of 100 accounts and 50,000 posts."""

    percent: int = 100
    days: int = 730

    @property
    def accounts(self) -> int:
        return max(1, 100 * self.percent // 100)

    @property
    def posts(self) -> int:
        return 50_000 * self.percent // 100


class Dataset(NamedTuple):
    workspace_id: int
    snapshots: int
    posts: int
    metrics: int
    seconds: float


def stamp(moment: datetime, suffix: str) -> str:
    """A UTC time as SQLAlchemy stores it on SQLite; ``suffix`` "+00" makes it PostgreSQL's."""
    return moment.strftime("%Y-%m-%d %H:%M:%S.%f") + suffix


class Writer:
    """Bulk rows into one table: ``executemany`` on SQLite, ``COPY … FROM STDIN`` on PostgreSQL."""

    def __init__(self, engine: Engine) -> None:
        self.raw = engine.raw_connection()
        self.postgres = engine.dialect.name == "postgresql"
        self.suffix = "+00" if self.postgres else ""

    def rows(self, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
        """Write ``rows``; return how many (both drivers count them in ``rowcount``)."""
        cursor, names = self.raw.cursor(), ", ".join(columns)
        if self.postgres:
            with cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            marks = ", ".join("?" * len(columns))
            cursor.executemany(f"INSERT INTO {table} ({names}) VALUES ({marks})", rows)
        count = int(cursor.rowcount)
        cursor.close()
        return count

    def finish(self) -> None:
        """Sequences past the ids we chose, then statistics (and on PostgreSQL the visibility
        map, as autovacuum would soon build it) so the planner sees a settled database."""
        self.raw.commit()
        cursor = self.raw.cursor()
        if self.postgres:
            for table in ("post", "variant"):
                cursor.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), max(id)) FROM {table}"
                )
            self.raw.commit()
            self.raw.driver_connection.autocommit = True  # VACUUM refuses a transaction
            cursor.execute("VACUUM ANALYZE")
            self.raw.driver_connection.autocommit = False
        else:
            cursor.execute("ANALYZE")
        self.raw.commit()
        self.raw.close()


def build_dataset(engine: Engine, scale: Scale, *, seed: int = 7) -> Dataset:
    """Fill an empty, migrated database; returns the workspace id and row counts."""
    started = time.perf_counter()
    rng = random.Random(seed)
    start = END - timedelta(days=scale.days)
    workspace_id, accounts = _workspace(engine, scale)
    writer = Writer(engine)
    snapshots = writer.rows(
        "accountsnapshot",
        ("account_id", "taken_at", "followers"),
        _snapshots(accounts, start, scale, rng, writer.suffix),
    )
    posts = _posts(accounts, start, scale, rng)
    writer.rows(
        "post",
        ("id", "workspace_id", "profile_id", "template_name", "variables", "language",
         "scheduled_at", "state", "created_at", "updated_at"),
        ((p.id, workspace_id, p.account.profile_id, p.template, "{}", p.template[:2],
          stamp(p.at, writer.suffix), "approved", stamp(start, writer.suffix),
          stamp(start, writer.suffix)) for p in posts),
    )  # fmt: skip
    writer.rows(
        "variant",
        ("id", "post_id", "account_id", "text", "length", "findings", "state", "due_at",
         "attempts", "published_at", "remote_url", "idempotency_key", "updated_at"),
        ((p.id, p.id, p.account.id, p.text, len(p.text), "[]", p.state,
          stamp(p.at, writer.suffix), 1,
          stamp(p.at, writer.suffix) if p.state == "published" else None,
          f"https://social.example/@a{p.account.id}/{p.id}", uuid.uuid4().hex,
          stamp(p.at, writer.suffix)) for p in posts),
    )  # fmt: skip
    metrics = writer.rows(
        "postmetrics",
        ("variant_id", "taken_at", "likes", "reposts", "replies", "quotes", "bookmarks",
         "impressions"),
        _metrics(posts, rng, writer.suffix),
    )  # fmt: skip
    writer.finish()
    _goals(engine, workspace_id, scale)
    return Dataset(workspace_id, snapshots, len(posts), metrics, time.perf_counter() - started)


def _goals(engine: Engine, workspace_id: int, scale: Scale) -> None:
    """A goal per metric, added an hour before the data ends (so each records a baseline)."""
    now = END - timedelta(hours=1)
    for metric, platform, target in (
        ("followers", "all", 8000.0 * scale.accounts),  # about three times the audience
        ("engagement_rate", "x", 0.02),
        ("posts_per_week", "all", 600.0),
    ):
        add_goal(engine, workspace_id, metric=metric, platform=platform, target=target,
                 due=date(2027, 6, 30), profile=None, now=now)  # type: ignore[arg-type]  # fmt: skip


class BenchAccount(NamedTuple):
    id: int
    platform: str
    profile_id: int
    base: int
    daily_growth: float


class BenchPost(NamedTuple):
    id: int
    account: BenchAccount
    template: str
    text: str
    at: datetime
    state: str
    interactions: int


def _workspace(engine: Engine, scale: Scale) -> tuple[int, list[BenchAccount]]:
    with session_scope(engine) as session:
        workspace = Workspace(name="ベンチマーク内科", timezone="Asia/Tokyo", locale="ja")
        session.add(workspace)
        session.flush()
        assert workspace.id is not None
        profiles = [Profile(workspace_id=workspace.id, slug=s, display_name=s) for s in "ab"]
        session.add_all(profiles)
        session.flush()
        accounts = []
        for n in range(scale.accounts):
            profile_id = profiles[n % 2].id
            assert profile_id is not None
            row = Account(
                workspace_id=workspace.id,
                profile_id=profile_id,
                name=f"bench-{n:03d}",
                platform=PLATFORMS[n % len(PLATFORMS)],
                base_url="https://social.example",
                credentials_encrypted=b"-",
                status="needs_reauth" if n % 50 == 49 else "active",
            )
            session.add(row)
            session.flush()
            assert row.id is not None
            base = 200 + (n * 7919) % 4800
            accounts.append(BenchAccount(row.id, row.platform, profile_id, base, 0.0005 + n / 1e5))
        return workspace.id, accounts


def _snapshots(
    accounts: Sequence[BenchAccount], start: datetime, scale: Scale, rng: random.Random, sfx: str
) -> Iterator[tuple[int, str, int]]:
    """Hourly counts with compound growth and noise; every 17th account has a three-day outage,
    every 23rd loses 8 % of its followers in a purge half-way through."""
    hours = scale.days * 24
    prefixes = [(start + timedelta(hours=h)).strftime("%Y-%m-%d %H:") for h in range(hours)]
    for account in accounts:
        minute = f"{account.id % 60:02d}:00.000000{sfx}"
        outage = range(300 * 24, 303 * 24) if account.id % 17 == 3 else range(0)
        purge_at = hours // 2 if account.id % 23 == 5 else hours
        log_growth = math.log1p(account.daily_growth) / 24
        for h in range(hours):
            if h in outage:
                continue
            followers = account.base * math.exp(log_growth * h) + rng.randint(-2, 2)
            if h >= purge_at:
                followers *= 0.92
            yield account.id, prefixes[h] + minute, int(followers)


def _posts(
    accounts: Sequence[BenchAccount], start: datetime, scale: Scale, rng: random.Random
) -> list[BenchPost]:
    posts = []
    for n in range(1, scale.posts + 1):
        account = accounts[rng.randrange(len(accounts))]
        local = LOCAL_HOURS[rng.randrange(len(LOCAL_HOURS))]
        day = rng.randrange(scale.days)
        at = start + timedelta(days=day, hours=local, minutes=rng.randrange(60))
        template = TEMPLATES[rng.randrange(len(TEMPLATES))]
        roll = rng.random()
        state = "published" if roll < 0.95 else "failed" if roll < 0.97 else "missed"
        followers = account.base * (1 + account.daily_growth) ** day
        rate = 0.01 * (1.5 if "health_tip" in template else 1.0) * (1.3 if local >= 20 else 1.0)
        text_ = TEXT[template[:2]][: rng.randrange(30, 600)]
        interactions = int(followers * rate * rng.uniform(0.5, 1.5))
        posts.append(BenchPost(n, account, template, text_, at, state, interactions))
    return posts


def _metrics(
    posts: Sequence[BenchPost], rng: random.Random, sfx: str
) -> Iterator[tuple[int, str, int, int, int, int | None, int, int | None]]:
    """Five readings per published post; 0.5 % stop after two (deleted), 0.5 % lose likes."""
    for post in posts:
        if post.state != "published":
            continue
        deleted, drops = rng.random() < 0.005, rng.random() < 0.005
        for index, (after, share) in enumerate(READINGS):
            taken = post.at + after
            if taken >= END or (deleted and index >= 2):
                break
            total = post.interactions * share
            likes = int(total * (0.6 if not (drops and index == 4) else 0.3))
            quotes = None if post.account.platform == "mastodon" else int(total * 0.05)
            views = int(total * 30) if post.account.platform in WITH_IMPRESSIONS else None
            yield (post.id, stamp(taken, sfx), likes, int(total * 0.15), int(total * 0.1),
                   quotes, int(total * 0.1), views)  # fmt: skip


def measure(
    url: str, workspace_id: int, start: date, end: date, profile: int = 0
) -> dict[str, float]:
    """Time, Python peak and process peak of the HTML report; run in a fresh process.

    Each run does what ``brandkit report --format html`` does after start-up: read the template
    categories, build the report without the per-post list, render the page. With ``profile``,
    one more run under ``cProfile`` prints its most expensive calls to stderr.
    """
    import tracemalloc

    from brandkit.reports import build_report, render_html
    from brandkit.reports.categories import template_categories

    tz, engine, base_mb = ZoneInfo("Asia/Tokyo"), make_engine(url), peak_rss_mb()
    first, after = (datetime.combine(day, datetime.min.time(), tz) for day in (start, end))

    def once() -> float:
        began = time.perf_counter()
        categories = template_categories(())
        report = build_report(engine, workspace_id, start=first, end=after, now=END,
                              categories=categories, with_posts=False)  # fmt: skip
        assert "<svg" in render_html(report) and report.goals
        return time.perf_counter() - began

    seconds = statistics.median(once() for _ in range(3))
    tracemalloc.start()
    once()
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    rss_mb = peak_rss_mb()
    if profile:
        import cProfile
        import pstats

        profiler = cProfile.Profile()
        profiler.runcall(once)
        pstats.Stats(profiler, stream=sys.stderr).sort_stats("cumulative").print_stats(profile)
    return {"seconds": seconds, "python_mb": peak, "rss_mb": rss_mb, "base_mb": base_mb}


def peak_rss_mb() -> float:
    """This process's peak resident set: ``VmHWM`` where Linux has it, else ``ru_maxrss``.

    On Linux ``getrusage(RUSAGE_SELF).ru_maxrss`` keeps the larger of the process's own peak and
    the peak of the process it was forked from (the kernel carries it over at ``exec``), so a
    child of the benchmark would report the benchmark's dataset builder. ``VmHWM`` in
    ``/proc/self/status`` is the same measure for this process alone.
    """
    import resource

    try:
        for line in Path("/proc/self/status").read_text(encoding="ascii").splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _child(
    url: str, workspace_id: int, start: date, end: date, profile: int = 0
) -> tuple[dict[str, float], str]:
    """The measurements of a fresh process, and its profile (``profile`` > 0) as text."""
    args = [sys.executable, __file__, "--measure", url, str(workspace_id), str(start), str(end)]
    done = subprocess.run(
        [*args, "--profile", str(profile)], check=True, capture_output=True, text=True
    )
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result, done.stderr if profile else ""


@contextmanager
def database(backend: str, percent: int, pg_base: str, tmp: Path) -> Iterator[str]:
    """An empty database URL: a SQLite file, or a private PostgreSQL schema dropped after."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp / f'bench-{percent}.db'}"
        return
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(pg_base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{pg_base}{'&' if '?' in pg_base else '?'}options=-csearch_path%3D{schema}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def run_size(backend: str, scale: Scale, pg_base: str, tmp: Path, profile: int = 0) -> None:
    """Build one database, measure the month and the whole-history report, print two lines
    (and the whole-history report's profile, with ``profile``)."""
    with database(backend, scale.percent, pg_base, tmp) as url:
        engine = make_engine(url)
        upgrade(engine)
        data = build_dataset(engine, scale)
        engine.dispose()
        local = ZoneInfo("Asia/Tokyo")
        first, after = (
            (END - timedelta(days=scale.days)).astimezone(local).date(),
            date(2026, 12, 1),
        )
        for label, start in (("month", date(2026, 11, 1)), (f"{scale.days} d", first)):
            whole = start == first
            found, profiled = _child(url, data.workspace_id, start, after, profile * whole)
            print(
                f"{backend:<10} {scale.percent:>4}% {data.snapshots:>10,} {data.posts:>7,} "
                f"{data.seconds:>7.1f} {label:>8} {found['seconds']:>7.2f} "
                f"{found['python_mb']:>7.1f} {found['rss_mb']:>7.1f} {found['base_mb']:>7.1f}",
                flush=True,
            )
            if profiled:
                print(profiled, flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="*", default=[25, 50, 100])
    parser.add_argument("--backends", nargs="*", default=["sqlite", "postgresql"])
    parser.add_argument(
        "--database-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/test"
    )
    parser.add_argument(
        "--profile",
        type=int,
        default=0,
        metavar="N",
        help="print the N most expensive calls of the whole-history report (cProfile)",
    )
    parser.add_argument("--measure", nargs=4, metavar=("URL", "WORKSPACE", "FROM", "TO"))
    args = parser.parse_args()
    if args.measure:
        url, workspace, first, after = args.measure
        days = date.fromisoformat(first), date.fromisoformat(after)
        found = measure(url, int(workspace), *days, profile=args.profile)
        print(json.dumps(found))
        return
    print(
        f"{'backend':<10} {'size':>5} {'snapshots':>10} {'posts':>7} {'build s':>7} "
        f"{'report':>8} {'html s':>7} {'py MB':>7} {'rss MB':>7} {'base MB':>7}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        for backend in args.backends:
            for percent in args.sizes:
                run_size(backend, Scale(percent), args.database_url, Path(tmp), args.profile)


if __name__ == "__main__":
    main()

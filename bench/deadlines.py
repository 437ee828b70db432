"""Benchmark of the deadline engine (issue 3, acceptance: >= 300,000 deadlines/s on one core).

    .venv/bin/python bench/deadlines.py [--n 1000000] [--naive 10000] [--runs 5] [--seed 20260302]

Pre-generates N receipt instants (any minute of any day, 2018-01-01..2026-12-20) and
limits of 1-30 working days with a fixed seed, then times only the engine call
``compute_deadline(cal, start, limit)`` (median of --runs runs). A naive reference
walks minute by minute through office time using only ``is_working_day`` on the
first --naive of them; both must agree exactly (exit 1 otherwise).
"""
from __future__ import annotations

import argparse
import platform
import random
import statistics
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from deadlines.due_dates import Limit, LimitUnit, compute_deadline  # noqa: E402
from deadlines.offdays import build_calendar  # noqa: E402
from deadlines.workdays import WorkCalendar  # noqa: E402

FIRST = datetime(2018, 1, 1)
LAST = datetime(2026, 12, 20, 23, 59)


def generate(n: int, seed: int) -> tuple[list[datetime], list[Limit]]:
    rng = random.Random(seed)
    span = int((LAST - FIRST).total_seconds()) // 60 + 1
    by_amount = [Limit(a, LimitUnit.WORKING_DAYS) for a in range(31)]
    starts = [FIRST + timedelta(minutes=rng.randrange(span)) for _ in range(n)]
    limits = [by_amount[rng.randint(1, 30)] for _ in range(n)]
    return starts, limits


def run_engine(cal: WorkCalendar, starts: list[datetime], limits: list[Limit]) -> tuple[float, list]:
    compute = compute_deadline
    t0 = time.perf_counter()
    out = [compute(cal, start, limit) for start, limit in zip(starts, limits)]
    return time.perf_counter() - t0, out


def naive_deadline(cal: WorkCalendar, start: datetime, working_days: int) -> datetime:
    """Reference: step through every minute of office time, day by day.

    Uses only ``is_working_day`` and the office periods; the deadline is the instant
    right after the last counted minute (the first instant the whole limit has elapsed).
    """
    periods = [
        (s.hour * 60 + s.minute, e.hour * 60 + e.minute) for s, e in cal.office_hours.periods
    ]
    remaining = working_days * cal.day_minutes
    day = start.date()
    minute_of_day = start.hour * 60 + start.minute
    if remaining == 0:  # the effective start
        while True:
            if cal.is_working_day(day):
                for open_, close in periods:
                    if minute_of_day < close:
                        m = max(minute_of_day, open_)
                        return datetime.combine(day, datetime.min.time()) + timedelta(minutes=m)
            day += timedelta(days=1)
            minute_of_day = 0
    while True:
        if cal.is_working_day(day):
            for open_, close in periods:
                m = open_
                while m < close:
                    if m >= minute_of_day:
                        remaining -= 1
                        if remaining == 0:
                            return datetime.combine(day, datetime.min.time()) + timedelta(minutes=m + 1)
                    m += 1
        day += timedelta(days=1)
        minute_of_day = 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000, help="deadlines per run")
    parser.add_argument("--naive", type=int, default=10_000, help="deadlines checked by the naive reference")
    parser.add_argument("--runs", type=int, default=5, help="timed runs (the median is reported)")
    parser.add_argument("--seed", type=int, default=20260302)
    args = parser.parse_args(argv)

    print(f"Python {platform.python_version()} on {platform.machine()}, one core")
    t0 = time.perf_counter()
    cal = build_calendar()
    print(f"calendar {cal.first_year}-{cal.last_year} built in {time.perf_counter() - t0:.3f} s")
    starts, limits = generate(args.n, args.seed)
    print(f"{args.n:,} receipts {FIRST:%Y-%m-%d}..{LAST:%Y-%m-%d}, 1-30 working days (seed {args.seed})")

    run_engine(cal, starts[:10_000], limits[:10_000])  # warm-up
    timings = []
    results: list = []
    for run in range(args.runs):
        elapsed, results = run_engine(cal, starts, limits)
        timings.append(elapsed)
        print(f"  run {run + 1}: {elapsed:.3f} s  ({args.n / elapsed:,.0f} deadlines/s)")
    median = statistics.median(timings)
    throughput = args.n / median
    print(f"engine: median {median:.3f} s for {args.n:,} -> {throughput:,.0f} deadlines/s")

    k = min(args.naive, args.n)
    t0 = time.perf_counter()
    reference = [naive_deadline(cal, s, lim.amount) for s, lim in zip(starts[:k], limits[:k])]
    naive_elapsed = time.perf_counter() - t0
    naive_throughput = k / naive_elapsed
    mismatches = [
        (s, lim.amount, got, want)
        for s, lim, got, want in zip(starts[:k], limits[:k], results[:k], reference)
        if got != want
    ]
    print(f"naive minute-stepping reference: {k:,} in {naive_elapsed:.2f} s -> {naive_throughput:,.0f} deadlines/s")
    print(f"mismatches: {len(mismatches)} of {k:,}")
    for s, amount, got, want in mismatches[:10]:
        print(f"  {s:%Y-%m-%d %H:%M} + {amount} working days: engine {got}, naive {want}")
    print(f"speed ratio engine/naive: {throughput / naive_throughput:,.0f}x")
    target = 300_000
    print(f"target {target:,} deadlines/s: {'met' if throughput >= target else 'NOT met'}")
    return 1 if mismatches else 0


if __name__ == "__main__":
    sys.exit(main())

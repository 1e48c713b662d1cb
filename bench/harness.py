"""The benchmark harness: time a thing N times, compare with a baseline timed in the same
run on the same machine, print one fixed table.

Benchmarks print, they never assert (DESIGN §7): a ratio over target is printed as MISS,
and the exit code stays 0.

    subject = Timing.of(samples_s)            # seconds per operation
    row = Row("roundtrip.1", subject, baseline, target=1.5)
    print_table([row])
"""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field

import trio


@dataclass(frozen=True)
class Timing:
    """Samples in seconds, summarised."""

    samples: tuple[float, ...]

    @classmethod
    def of(cls, samples: Iterable[float]) -> Timing:
        s = tuple(samples)
        if not s:
            raise ValueError("no samples")
        return cls(s)

    def pct(self, p: float) -> float:
        """Nearest-rank percentile (p in 0..100)."""
        ordered = sorted(self.samples)
        rank = max(1, math.ceil(p / 100 * len(ordered)))
        return ordered[rank - 1]

    @property
    def p50(self) -> float:
        return self.pct(50)

    @property
    def p99(self) -> float:
        return self.pct(99)

    @property
    def mean(self) -> float:
        return statistics.fmean(self.samples)

    @property
    def n(self) -> int:
        return len(self.samples)


def time_sync(fn: Callable[[], object], n: int, warmup: int = 0) -> Timing:
    """Call `fn` n times (after `warmup` untimed calls); one sample per call."""
    for _ in range(warmup):
        fn()
    clock = time.perf_counter
    out = []
    for _ in range(n):
        t0 = clock()
        fn()
        out.append(clock() - t0)
    return Timing.of(out)


async def time_async(fn: Callable[[], Awaitable[object]], n: int, warmup: int = 0) -> Timing:
    for _ in range(warmup):
        await fn()
    clock = time.perf_counter
    out = []
    for _ in range(n):
        t0 = clock()
        await fn()
        out.append(clock() - t0)
    return Timing.of(out)


async def time_concurrent(
    fns: list[Callable[[], Awaitable[object]]], n_each: int, warmup: int = 0
) -> Timing:
    """Each of `fns` (one per client) runs n_each times concurrently; all samples pooled."""
    pooled: list[float] = []

    async def one(fn: Callable[[], Awaitable[object]]) -> None:
        timing = await time_async(fn, n_each, warmup)
        pooled.extend(timing.samples)

    async with trio.open_nursery() as nursery:
        for fn in fns:
            nursery.start_soon(one, fn)
    return Timing.of(pooled)


class _Rollback(Exception):
    pass


def hook_cost(store, hook: Callable[[object], None], n: int) -> tuple[Timing, Timing]:
    """A sale-completion hook's own cost: a transaction that runs `hook(tx)` vs the same bare
    transaction without it, interleaved n times each, both rolled back so nothing changes.
    Returns (with the hook, without)."""
    def once(with_hook: bool) -> float:
        def fn(tx) -> None:
            if with_hook:
                hook(tx)
            tx.append("bench.noop", {})
            raise _Rollback

        t0 = time.perf_counter()
        try:
            store.write_sync(fn)
        except _Rollback:
            pass
        return time.perf_counter() - t0

    on, off = [], []
    for _ in range(n):
        on.append(once(True))
        off.append(once(False))
    return Timing.of(on), Timing.of(off)


def merge(timings: Iterable[Timing]) -> Timing:
    return Timing.of(s for t in timings for s in t.samples)


@dataclass
class Row:
    """One line of the table. `subject` and `baseline` are Timings (seconds) or, for a
    plain figure (RSS, start time), `value`/`unit` with an absolute `limit`."""

    name: str
    subject: Timing | None = None
    baseline: Timing | None = None
    target: float | None = None  # max ratio subject/baseline (p50 and p99)
    value: float | None = None  # a plain figure, when there is no baseline
    value_p99: float | None = None
    unit: str = ""
    limit: float | None = None  # max value for a plain figure (its p99 when it has one)
    note: str = ""
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def ratio_p50(self) -> float | None:
        if self.subject and self.baseline:
            return self.subject.p50 / self.baseline.p50
        return None

    @property
    def ratio_p99(self) -> float | None:
        if self.subject and self.baseline:
            return self.subject.p99 / self.baseline.p99
        return None

    def verdict(self) -> str:
        if self.target is not None and self.ratio_p50 is not None:
            ok = self.ratio_p50 <= self.target and (self.ratio_p99 or 0) <= self.target
            return f"<={self.target:g}x {'ok' if ok else 'MISS'}"
        if self.limit is not None and self.value is not None:
            ok = (self.value if self.value_p99 is None else self.value_p99) < self.limit
            return f"<{self.limit:g} {self.unit} {'ok' if ok else 'MISS'}"
        return "-"


def fmt_time(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 1e-3:
        return f"{seconds * 1e6:.0f}us"
    if seconds < 1:
        return f"{seconds * 1e3:.2f}ms"
    return f"{seconds:.2f}s"


def fmt_ratio(r: float | None) -> str:
    return "-" if r is None else f"{r:.2f}x"


def fmt_value(v: float | None, unit: str) -> str:
    if v is None:
        return "-"
    if unit == "s":
        return fmt_time(v)
    return f"{v:.1f} {unit}".strip()


COLUMNS = ("name", "p50", "p99", "baseline_p50", "baseline_p99", "ratio_p50", "ratio_p99",
           "target")


def cells(row: Row) -> list[str]:
    if row.subject is not None:
        return [
            row.name,
            fmt_time(row.subject.p50),
            fmt_time(row.subject.p99),
            fmt_time(row.baseline.p50 if row.baseline else None),
            fmt_time(row.baseline.p99 if row.baseline else None),
            fmt_ratio(row.ratio_p50),
            fmt_ratio(row.ratio_p99),
            row.verdict(),
        ]
    return [
        row.name,
        fmt_value(row.value, row.unit),
        fmt_value(row.value_p99, row.unit),
        "-", "-", "-", "-",
        row.verdict(),
    ]


def render_table(rows: list[Row]) -> str:
    table = [list(COLUMNS), *[cells(r) for r in rows]]
    widths = [max(len(r[i]) for r in table) for i in range(len(COLUMNS))]
    lines = []
    for r in table:
        first = r[0].ljust(widths[0])
        rest = [c.rjust(w) for c, w in zip(r[1:-1], widths[1:-1], strict=True)]
        lines.append("  ".join([first, *rest, r[-1]]).rstrip())
    notes = [f"  {r.name}: {r.note}" for r in rows if r.note]
    if notes:
        lines += ["", "notes:", *notes]
    return "\n".join(lines)


def print_table(rows: list[Row]) -> None:
    print(render_table(rows), flush=True)


async def open_shift(gw, float_: int = 0) -> dict:
    """The till's open shift; if there is none, the operator logged in on the client `gw`
    opens one (shift.open), as a cashier does first thing: a sale is paid only in an open
    shift (`[sale] require_shift`). The benchmarks and the tests that sell, but are about
    something else, open theirs here."""
    current = (await gw.call("shift.current"))["shift"]
    return current if current is not None else await gw.call("shift.open", {"float": float_})

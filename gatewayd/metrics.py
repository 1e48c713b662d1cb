"""In-process metrics rendered as Prometheus text at GET /metrics. No dependency: a few
counters, gauges and one latency histogram are all a till needs."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable

LATENCY_BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


def _labels(labels: tuple[tuple[str, str], ...]) -> str:
    if not labels:
        return ""
    inner = ",".join(f'{k}="{v}"' for k, v in labels)
    return "{" + inner + "}"


class Metrics:
    def __init__(self) -> None:
        self.counters: dict[str, dict[tuple[tuple[str, str], ...], int]] = defaultdict(dict)
        self.help: dict[str, str] = {}
        self.gauges: dict[str, Callable[[], list[tuple[dict[str, str], float]]]] = {}
        self._hist: dict[tuple[tuple[str, str], ...], list[int]] = {}
        self._hist_sum: dict[tuple[tuple[str, str], ...], float] = defaultdict(float)

    def inc(self, name: str, n: int = 1, **labels: str) -> None:
        key = tuple(sorted(labels.items()))
        series = self.counters[name]
        series[key] = series.get(key, 0) + n

    def get(self, name: str, **labels: str) -> int:
        return self.counters.get(name, {}).get(tuple(sorted(labels.items())), 0)

    def gauge(self, name: str, doc: str, fn: Callable[[], list[tuple[dict[str, str], float]]]):
        self.help[name] = doc
        self.gauges[name] = fn

    def observe_latency(self, seconds: float, **labels: str) -> None:
        key = tuple(sorted(labels.items()))
        buckets = self._hist.setdefault(key, [0] * (len(LATENCY_BUCKETS) + 1))
        for i, bound in enumerate(LATENCY_BUCKETS):
            if seconds <= bound:
                buckets[i] += 1
        buckets[-1] += 1
        self._hist_sum[key] += seconds

    def render(self) -> str:
        out: list[str] = []
        for name, series in sorted(self.counters.items()):
            if name in self.help:
                out.append(f"# HELP {name} {self.help[name]}")
            out.append(f"# TYPE {name} counter")
            for key, value in sorted(series.items()):
                out.append(f"{name}{_labels(key)} {value}")
        for name, fn in sorted(self.gauges.items()):
            out.append(f"# HELP {name} {self.help.get(name, name)}")
            out.append(f"# TYPE {name} gauge")
            for labels, level in fn():
                out.append(f"{name}{_labels(tuple(sorted(labels.items())))} {level:g}")
        name = "gatewayd_call_seconds"
        out.append(f"# HELP {name} Call latency from frame received to result sent.")
        out.append(f"# TYPE {name} histogram")
        for key, buckets in sorted(self._hist.items()):
            for bound, count in zip((*LATENCY_BUCKETS, "+Inf"), buckets, strict=True):
                out.append(f"{name}_bucket{_labels((*key, ('le', str(bound))))} {count}")
            out.append(f"{name}_sum{_labels(key)} {self._hist_sum[key]:.6f}")
            out.append(f"{name}_count{_labels(key)} {buckets[-1]}")
        return "\n".join(out) + "\n"

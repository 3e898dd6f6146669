"""The `/metrics` text, fast enough to scrape with thousands of series.

Two renderers, one per way the service runs.

**Several server processes.**
With `serve --workers N` each process writes its samples to files in
`PROMETHEUS_MULTIPROC_DIR`, and whichever process answers a scrape adds them up.
prometheus_client's `MultiProcessCollector` decodes the JSON key of every sample and
builds a `Metric` and a `Sample` per series on every scrape: with 1000 customers
(two files of ~2,000 series) that took 30-40 ms, over our 20 ms budget.

The keys of a file never change once written, so `MergedExposition` decodes each
key once, for the life of the process, into everything the text needs: the family,
and the finished `name{labels} ` prefix of its line. A scrape is then reading the
values, adding them up and joining strings. Counters and histograms (all the
contract writes to files) take this path; any other file type, such as a
multiprocess gauge, is merged by prometheus_client's own collector, so nothing is
ever dropped.

**One process.** prometheus_client's `generate_latest` builds a `Metric` and a
`Sample` per series and formats every label again on each scrape (13-22 ms with
1000 customers). `LocalExposition` walks the contract's counters and histograms
directly, keeps the finished line prefix of each series, and leaves the
process, platform, GC and scrape-time collectors to `generate_latest`. It reads
prometheus_client's per-series objects (`_metrics`, `_value`, `_buckets`,
`_sum`), which are not public: a test compares its text with `generate_latest`'s
sample for sample, and should they ever change, `render` falls back to
`generate_latest` rather than fail a scrape.
"""

from __future__ import annotations

import glob
import json
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from prometheus_client import REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.metrics import MetricWrapperBase
from prometheus_client.mmap_dict import MmapedDict
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.utils import floatToGoString

FAST_TYPES = ("counter", "histogram")


@dataclass
class _Family:
    name: str  # as exposed: a counter's carries `_total`
    kind: str
    help: str
    # counter: line prefix -> value; histogram: labels text -> `_sum`
    totals: dict[str, float] = field(default_factory=dict)
    # histogram: labels text (without `le`) -> upper bound -> [line prefix, value]
    buckets: dict[str, dict[float, list[Any]]] = field(default_factory=dict)


@dataclass(frozen=True)
class _Key:
    """One decoded sample key: where its value goes."""

    family: str
    help: str
    slot: str  # counter: line prefix; histogram: labels text without `le`
    upper: float | None = None  # a bucket's `le`; None for `_sum`
    bucket_prefix: str = ""


def escape_label_value(value: str) -> str:
    return value.replace("\\", r"\\").replace("\n", r"\n").replace('"', r"\"")


def _labels_text(labels: Iterable[tuple[str, str]]) -> str:
    return ",".join(f'{name}="{escape_label_value(value)}"' for name, value in labels)


def _header(name: str, kind: str, help_text: str) -> str:
    doc = help_text.replace("\\", r"\\").replace("\n", r"\n")
    return f"# HELP {name} {doc}\n# TYPE {name} {kind}\n"


def _prefix(name: str, labels_text: str) -> str:
    return f"{name}{{{labels_text}}} " if labels_text else f"{name} "


def _decode(kind: str, key: str) -> _Key:
    metric_name, sample_name, labels, help_text = json.loads(key)
    pairs = sorted(labels.items())
    if kind == "counter":
        prefix = _prefix(sample_name, _labels_text(pairs))
        return _Key(f"{metric_name}_total", help_text, prefix)
    base = _labels_text(pair for pair in pairs if pair[0] != "le")
    if sample_name.endswith("_bucket"):
        return _Key(
            metric_name,
            help_text,
            base,
            upper=float(labels["le"]),
            bucket_prefix=_prefix(sample_name, _labels_text(pairs)),
        )
    return _Key(metric_name, help_text, base)


class MergedExposition:
    """The merged text of every process's sample files in one directory."""

    def __init__(self, directory: str) -> None:
        self.directory = directory
        # Bounded by the number of series ever written (route templates, customers,
        # heavy hitters), the same bound the files themselves have.
        self._keys: dict[tuple[str, str], _Key] = {}

    def render(self) -> bytes:
        fast: list[tuple[str, str]] = []  # (file, metric type)
        other: list[str] = []
        for path in glob.glob(os.path.join(self.directory, "*.db")):
            kind = os.path.basename(path).split("_", 1)[0]
            if kind in FAST_TYPES:
                fast.append((path, kind))
            else:
                other.append(path)
        text = self._text(self._families(fast))
        if other:  # gauges and summaries: merged as prometheus_client does
            text += generate_latest(_Merged(other)).decode()
        return text.encode()

    def _families(self, paths: list[tuple[str, str]]) -> dict[str, _Family]:
        families: dict[str, _Family] = {}
        keys = self._keys
        for path, kind in sorted(paths):
            for key_text, value, _timestamp, _pos in MmapedDict.read_all_values_from_file(path):
                key = keys.get((kind, key_text))
                if key is None:
                    key = keys[(kind, key_text)] = _decode(kind, key_text)
                family = families.get(key.family)
                if family is None:
                    family = families[key.family] = _Family(key.family, kind, key.help)
                if key.upper is None:
                    family.totals[key.slot] = family.totals.get(key.slot, 0.0) + value
                else:
                    bucket = family.buckets.setdefault(key.slot, {}).get(key.upper)
                    if bucket is None:
                        family.buckets[key.slot][key.upper] = [key.bucket_prefix, value]
                    else:
                        bucket[1] += value
        return families

    @staticmethod
    def _text(families: dict[str, _Family]) -> str:
        out: list[str] = []
        for name in sorted(families):
            family = families[name]
            out.append(_header(name, family.kind, family.help))
            if family.kind == "counter":
                out.extend(f"{prefix}{floatToGoString(v)}\n" for prefix, v in family.totals.items())
                continue
            for labels, buckets in family.buckets.items():
                count = 0.0
                for upper in sorted(buckets):
                    prefix, value = buckets[upper]
                    count += value
                    out.append(f"{prefix}{floatToGoString(count)}\n")
                out.append(f"{_prefix(name + '_count', labels)}{floatToGoString(count)}\n")
                total = family.totals.get(labels, 0.0)
                out.append(f"{_prefix(name + '_sum', labels)}{floatToGoString(total)}\n")
        return "".join(out)


class _Merged:
    """A collector over some sample files, merged by prometheus_client."""

    def __init__(self, paths: list[str]) -> None:
        self.paths = paths

    def collect(self) -> Iterable[Any]:
        return MultiProcessCollector.merge(self.paths, accumulate=True)


class LocalExposition:
    """This process's metrics: `fast` rendered from their series, `rest` as usual."""

    def __init__(self, fast: Iterable[MetricWrapperBase], rest: CollectorRegistry) -> None:
        self.fast = list(fast)
        self.rest = rest
        # (metric name, label values) -> finished line prefixes; bounded like the series
        self._prefixes: dict[tuple[str, tuple[str, ...]], tuple[str, ...]] = {}

    def render(self) -> bytes:
        try:
            text = "".join(self._lines())
        except AttributeError:  # prometheus_client's internals moved: be slow, not wrong
            return generate_latest(REGISTRY)
        return text.encode() + generate_latest(self.rest)

    def _lines(self) -> Iterable[str]:
        metric: Any  # prometheus_client's series objects are not typed for this use
        for metric in self.fast:
            kind = metric._type
            name = f"{metric._name}_total" if kind == "counter" else metric._name
            yield _header(name, kind, metric._documentation)
            with metric._lock:
                series = list(metric._metrics.items())
            for values, child in series:
                prefixes = self._prefixes.get((name, values))
                if prefixes is None:
                    prefixes = self._prefixes[(name, values)] = self._prefix(metric, values)
                if kind == "counter":
                    yield f"{prefixes[0]}{floatToGoString(child._value.get())}\n"
                    continue
                count = 0.0
                for prefix, bucket in zip(prefixes, child._buckets, strict=False):
                    count += bucket.get()
                    yield f"{prefix}{floatToGoString(count)}\n"
                yield f"{prefixes[-2]}{floatToGoString(count)}\n"
                yield f"{prefixes[-1]}{floatToGoString(child._sum.get())}\n"

    @staticmethod
    def _prefix(metric: Any, values: tuple[str, ...]) -> tuple[str, ...]:
        # Label names sorted, as prometheus_client writes them.
        pairs = sorted(zip(metric._labelnames, values, strict=True))
        if metric._type == "counter":
            return (_prefix(f"{metric._name}_total", _labels_text(pairs)),)
        base = _labels_text(pairs)
        buckets = tuple(
            _prefix(
                f"{metric._name}_bucket", _labels_text(sorted([*pairs, ("le", floatToGoString(b))]))
            )
            for b in metric._upper_bounds
        )
        count = _prefix(f"{metric._name}_count", base)
        return (*buckets, count, _prefix(f"{metric._name}_sum", base))

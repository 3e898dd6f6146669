"""The Amdahl model of one large job over W workers, from the measured inputs.

    T(W) = prepare + ceil(n / W) * (chunk + contention(W)) + finalize

- n = ceil(rows / chunk_rows) chunks, each run whole by one worker;
- chunk = sampling one chunk (per-core rate) + queue round trip + the chunk's own DB
  transitions (claim, complete; renewals run on the heartbeat thread, beside the
  work) + PUT of its part to the object store;
- contention(W) = the extra latency of those transitions with W clients at once, from
  a straight line fitted (least squares) through the latencies measured with 1, 2, 4
  and 8 concurrent clients, extrapolated to W: b * (W - 1);
- prepare (serial) = fit on the sample (fit_max_rows rows) + inserting the n chunk
  rows + sending n messages; finalize (serial) = reading the n chunk rows + one HEAD
  per part + writing the manifest.

Parallel efficiency E(W) = T(1) / (W * T(W)).
"""

from __future__ import annotations

import math
from typing import Any

WORKERS = (1, 4, 16, 64)
TARGET_WORKERS, TARGET_EFFICIENCY = 16, 0.90


def fit_line(xs: list[float], ys: list[float]) -> tuple[float, float]:
    """Least-squares intercept and slope of ys over xs."""
    mean_x, mean_y = sum(xs) / len(xs), sum(ys) / len(ys)
    sxx = sum((x - mean_x) ** 2 for x in xs)
    slope = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / sxx
    return mean_y - slope * mean_x, slope


def inputs(m: dict[str, Any], rows: int) -> dict[str, Any]:
    """The model's terms, in seconds, from the measurements `m`."""
    chunk_rows = m["chunk_rows"]
    n = math.ceil(rows / chunk_rows)
    engine, s3 = m["engine"], m["stores"]["s3"]
    db1 = m["db"]["contention"][1]
    transitions = db1["claim"]["median"] + db1["complete"]["median"]
    clients = sorted(m["db"]["contention"])
    per_chunk_db = [
        m["db"]["contention"][k]["claim"]["median"] + m["db"]["contention"][k]["complete"]["median"]
        for k in clients
    ]
    intercept, slope = fit_line([float(k) for k in clients], per_chunk_db)
    part_bytes = s3["bytes"] * chunk_rows / engine["sample_rows"]
    sample_s = chunk_rows / engine["rows_per_cpu_s"]
    put_s = part_bytes / (s3["put_mb_s"] * 1e6)
    queue_s = m["queue"]["redis"]["median"]
    chunk_s = sample_s + queue_s + transitions + put_s
    fit_s = engine["fit_cpu_s"] * m["fit_rows"] / engine["fit_rows_measured"]
    plan_s = m["db"]["insert_chunks_s"] * n / m["db"]["insert_chunks_n"] + n * queue_s
    finalize_s = (
        m["db"]["finalize_read"]["median"] * n / m["db"]["finalize_read_chunks"]
        + n * s3["head"]["median"]
        + m["manifest"]["s3"]["median"] * n / m["manifest"]["s3"]["parts"]
    )
    return {
        "rows": rows,
        "chunk_rows": chunk_rows,
        "chunks": n,
        "sample_s": sample_s,
        "queue_s": queue_s,
        "db_s": transitions,
        "put_s": put_s,
        "part_bytes": part_bytes,
        "chunk_s": chunk_s,
        "fit_s": fit_s,
        "plan_s": plan_s,
        "prepare_s": fit_s + plan_s,
        "finalize_s": finalize_s,
        "contention_line": {"intercept_s": intercept, "slope_s_per_client": slope},
    }


def predict(t: dict[str, Any], workers: int, whole_rounds: bool = True) -> dict[str, float]:
    """Predicted time of the job on `workers` workers, split by term; `whole_rounds`
    False spreads the chunks evenly (as if they could be split), to isolate the serial
    terms from the granularity of the chunks."""
    rounds = math.ceil(t["chunks"] / workers) if whole_rounds else t["chunks"] / workers
    contention = rounds * max(0.0, t["contention_line"]["slope_s_per_client"]) * (workers - 1)
    work = rounds * t["chunk_s"]
    total = t["prepare_s"] + work + contention + t["finalize_s"]
    ideal_work = t["chunks"] * t["chunk_s"] / workers
    return {
        "workers": workers,
        "total_s": total,
        "prepare_s": t["prepare_s"],
        "finalize_s": t["finalize_s"],
        "contention_s": contention,
        "rounding_s": work - ideal_work,  # the last round's idle workers
        "work_s": ideal_work,
    }


def efficiency(t: dict[str, Any], workers: int, whole_rounds: bool = True) -> float:
    """T(1) / (W * T(W))."""
    one = predict(t, 1, whole_rounds)["total_s"]
    return one / (workers * predict(t, workers, whole_rounds)["total_s"])


def first_bottleneck(
    t: dict[str, Any], whole_rounds: bool = True, limit: int = 100_000
) -> dict[str, Any]:
    """The smallest worker count whose efficiency falls below the target, and the term
    that costs most there (prepare, finalize, DB contention, or the last round)."""
    for workers in range(2, limit + 1):
        if efficiency(t, workers, whole_rounds) < TARGET_EFFICIENCY:
            p = predict(t, workers, whole_rounds)
            names = ("prepare_s", "finalize_s", "contention_s", "rounding_s")
            terms = {k: p[k] for k in names if whole_rounds or k != "rounding_s"}
            return {
                "workers": workers,
                "term": max(terms, key=lambda k: terms[k]).removesuffix("_s"),
                "terms": terms,
            }
    return {"workers": None, "term": None, "terms": {}}


def db_load(m: dict[str, Any], t: dict[str, Any], workers: int) -> float:
    """Transitions per second W workers ask of the database, over the rate measured with
    8 concurrent clients (above 1: the database, not the workers, sets the pace)."""
    heartbeat = m["heartbeat_s"]
    per_chunk = 2 + t["sample_s"] / heartbeat  # claim, complete, and the renewals
    demand = workers * per_chunk / t["chunk_s"]
    capacity = max(v["transitions_per_s"] for v in m["db"]["contention"].values())
    return float(demand / capacity)

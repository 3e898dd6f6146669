"""One engine measurement, run in a process of its own so its peak memory is its own.

`engine_benchmark` starts ``python -m benchmarks.engine_runs TASK.json RESULT.json``;
this module does the one task the file names and writes a JSON result, including the
process's own peak resident set size (``ru_maxrss``).

Tasks, each for a synthesizer name ("copula" is ours; "sdv_copula" is SDV's
``GaussianCopulaSynthesizer`` with its default settings, given the column types our
schema inference found so that both engines model the same table):

- ``speed``: ``synthdata.fit(csv)`` then stream ``rows`` synthetic rows to a CSV file
  with ``iter_chunks`` + ``write_frames``;
- ``quality``: fit on the small real table, sample as many rows, score with
  ``synthdata.evaluate`` (all pairs, holdout for privacy) and with SDMetrics' default
  ``QualityReport``.
"""

from __future__ import annotations

import json
import resource
import sys
import time
import warnings
from pathlib import Path
from typing import Any

SEED = 0


def _peak_rss_bytes() -> int:
    # Linux reports ru_maxrss in KiB.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _label(model: Any) -> str:
    if model.name == "sdv_copula":
        import sdv

        return f"SDV {sdv.__version__} GaussianCopulaSynthesizer (default settings)"
    import synthdata

    return f"synthdata {synthdata.__version__} ({model.name})"


def speed(task: dict[str, Any]) -> dict[str, Any]:
    """Fit `synthesizer` on the CSV file and stream `rows` rows to a CSV file."""
    started = time.perf_counter()
    import synthdata

    if task["synthesizer"].startswith("sdv_"):
        import sdv  # noqa: F401  (SDV's import, with torch, is timed apart from fitting)
    imported = time.perf_counter()
    model = synthdata.fit(task["csv"], synthesizer=task["synthesizer"])
    fitted = time.perf_counter()
    synthdata.write_frames(model.iter_chunks(task["rows"], seed=SEED), task["out"])
    sampled = time.perf_counter()
    return {
        "engine": _label(model),
        "import_s": imported - started,
        "fit_s": fitted - imported,
        "sample_s": sampled - fitted,
        "fitted_rows": model.fitted_rows,
        "output_bytes": Path(task["out"]).stat().st_size,
    }


def quality(task: dict[str, Any]) -> dict[str, Any]:
    """Fit one engine on the small table, sample as many rows and score them."""
    import synthdata
    from synthdata.engine.evaluation import SDTYPES, canonical_frame
    from synthdata.engine.io import read_table

    real = read_table(task["real"])
    holdout = read_table(task["holdout"])
    started = time.perf_counter()
    model = synthdata.fit(real, synthesizer=task["synthesizer"])
    fake = model.sample(len(real), seed=SEED)
    seconds = time.perf_counter() - started

    schema = synthdata.infer_schema(real)
    result = synthdata.evaluate(real, fake, holdout=holdout, schema=schema, max_rows=len(real))
    pairs = {k: v for k, v in result.column_pair_trends.items() if v is not None}
    worst = min(pairs, key=lambda k: pairs[k])
    hierarchy = pairs.get("region~city", pairs.get("city~region"))

    # SDMetrics' own report (default thresholds) on the same canonical frames.
    from sdmetrics.reports.single_table import QualityReport

    problems: list[str] = []
    scored = [c for c in schema.columns if c.kind in SDTYPES]
    names = [c.name for c in scored]
    real_c = canonical_frame(real, schema, problems, "real")[names]
    fake_c = canonical_frame(fake, schema, problems, "synthetic")[names]
    metadata = {"columns": {c.name: {"sdtype": SDTYPES[c.kind]} for c in scored}}
    report = QualityReport()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report.generate(real_c, fake_c, metadata, verbose=False)
    return {
        "engine": _label(model),
        "fit_sample_s": seconds,
        "quality_score": result.quality_score,
        "column_shapes_score": result.column_shapes_score,
        "column_pair_trends_score": result.column_pair_trends_score,
        "pairs_scored": len(pairs),
        "min_pair": {"pair": worst, "score": pairs[worst]},
        "region_city_pair": hierarchy,
        "exact_copy_rate": result.privacy.get("exact_copy_rate"),
        "baseline_copy_rate": result.privacy.get("baseline_copy_rate"),
        "sdmetrics_quality_report": float(report.get_score()),
        "warnings": problems + list(result.warnings),
    }


TASKS = {"speed": speed, "quality": quality}


def main(argv: list[str]) -> None:
    """Run the task described in argv[0] (JSON file) and write the result to argv[1]."""
    task = json.loads(Path(argv[0]).read_text())
    result = TASKS[task["task"]](task)
    result["peak_rss_bytes"] = _peak_rss_bytes()
    Path(argv[1]).write_text(json.dumps(result, indent=2, default=str))


if __name__ == "__main__":
    main(sys.argv[1:])

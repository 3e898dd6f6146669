"""The targets and the Markdown page of the control benchmark."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from benchmarks.control_runs import OURS, SDV
from benchmarks.engine_report import machine_lines

SLACK = 0.01  # constraints may cost at most this much pair trend or detection
MAX_RATIO = 2.0  # conditional over unconditional sampling time


def _verdict(ok: bool | None) -> str:
    return "NOT RUN" if ok is None else ("PASS" if ok else "FAIL")


def _conditions(results: dict[str, Any], engine: str) -> dict[str, dict[str, Any]]:
    return {
        name: {**table["engines"][engine], "reference": table.get("reference") or {}}
        for name, table in results.get("conditions", {}).items()
        if table.get("status") == "ok" and engine in table["engines"]
    }


def _constraints(results: dict[str, Any], engine: str) -> dict[str, dict[str, Any]]:
    return {
        name: table["engines"][engine]
        for name, table in results.get("constraints", {}).items()
        if table.get("status") == "ok" and engine in table["engines"]
    }


def _speed(r: dict[str, Any]) -> tuple[str, bool]:
    if r.get("status") != "ok":
        return "failed", False
    if r.get("conditional_status") != "ok":
        return r.get("conditional_status", "failed"), False
    text = f"{r['ratio']:.2f}x"
    if r.get("meeting_condition") != 1.0:
        text += f" ({_pct(r.get('meeting_condition'))} meet it)"
    return text, r["ratio"] <= MAX_RATIO and r.get("meeting_condition") == 1.0


def _conditional(measure: str) -> Callable[[dict[str, Any]], tuple[str, bool]]:
    def check(r: dict[str, Any]) -> tuple[str, bool]:
        free = (r.get("unconditional") or {}).get(measure)
        given = (r.get("conditional") or {}).get(measure)
        if free is None or given is None:
            return "not scored", False
        ref = r.get("reference") or {}
        ref_free = (ref.get("unconditional") or {}).get(measure)
        ref_given = (ref.get("conditional") or {}).get(measure)
        return (
            f"{given:.3f} vs {free:.3f} (holdout {_num(ref_given)} vs {_num(ref_free)})",
            given >= free,
        )

    return check


def _valid(runs: dict[str, Any]) -> tuple[str, bool]:
    r = runs.get("with", {})
    if r.get("status") != "ok":
        return r.get("status", "not run"), False
    return _pct(r["validity"], 2), r["validity"] == 1.0


def _cost(measure: str) -> Callable[[dict[str, Any]], tuple[str, bool]]:
    def check(runs: dict[str, Any]) -> tuple[str, bool]:
        without, with_ = runs.get("without", {}), runs.get("with", {})
        if without.get("status") != "ok" or with_.get("status") != "ok":
            return with_.get("status") or "not run", False
        delta = with_[measure] - without[measure]
        return f"{with_[measure]:.3f} vs {without[measure]:.3f} ({delta:+.4f})", delta >= -SLACK

    return check


TARGETS: list[tuple[str, str, Callable[..., tuple[str, bool]]]] = [
    (
        "conditions",
        "10,000 rows under a ~1 % condition <= 2x the time of 10,000 unconditional rows"
        " (conditional / unconditional seconds; every row returned and meeting it)",
        _speed,
    ),
    (
        "conditions",
        "conditional pair trend >= unconditional (conditioned rows vs the real rows meeting"
        " the condition, beside all rows vs all training rows)",
        _conditional("pair_trend"),
    ),
    ("conditions", "conditional detection >= unconditional", _conditional("detection")),
    ("constraints", "100 % of output rows meet every constraint", _valid),
    (
        "constraints",
        f"pair trend with constraints >= without - {SLACK}",
        _cost("pair_trend"),
    ),
    ("constraints", f"detection with constraints >= without - {SLACK}", _cost("detection")),
]


def check_targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per target: our measurements (every table), SDV's beside, the verdict."""
    rows = []
    for part, target, check in TARGETS:
        pick = _conditions if part == "conditions" else _constraints
        ours = {name: check(r) for name, r in pick(results, OURS).items()}
        peer = {name: check(r) for name, r in pick(results, SDV).items()}
        rows.append(
            {
                "target": target,
                "measured": "; ".join(f"{n} {text}" for n, (text, _) in ours.items()) or "-",
                "sdv": "; ".join(f"{n} {text}" for n, (text, _) in peer.items()) or "-",
                "status": _verdict(all(ok for _, ok in ours.values()) if ours else None),
                "failing": [n for n, (_, ok) in ours.items() if not ok],
            }
        )
    return rows


def render_markdown(results: dict[str, Any]) -> str:
    """The page: context, targets, then each part's numbers per table and engine."""
    s = results["settings"]
    lines = [
        "# Control benchmark: conditional sampling and constraints",
        "",
        f"Date: {results['date']}. Command: `{s['command']}`. Whole run:"
        f" {results['duration_s'] / 60:.1f} min.",
        "",
        *machine_lines(results),
        "",
        f"Each table is split 70/30 (seed {s['split_seed']}); everything below uses the"
        " training rows. Both engines ran in the benchmark's own process, one after the"
        f" other, with {s['threads']} native (OpenMP/BLAS/torch) thread(s) and our engine's"
        " stage overlap off. Ours is the default `chain` synthesizer; SDV's"
        " `GaussianCopulaSynthesizer` runs as its users run it (`Metadata.detect_from_"
        "dataframes`, default settings), with conditions through `Condition` +"
        " `sample_from_conditions` and constraints through `sdv.cag` + `add_constraints`."
        f" Sampling times are the median of {s['repeats']} runs (seed {s['seed']}), fit"
        " timed apart. Fidelity (`synthdata.engine.fidelity`): pair trend on fixed bins and"
        f" detection ({s['folds']}-fold), at most {s['max_rows']:,} rows per side.",
        "",
        "## Targets (ours: `chain`; SDV beside it, no verdict)",
        "",
        "| target | ours | SDV GaussianCopula | status |",
        "| --- | --- | --- | --- |",
    ]
    lines += [
        f"| {t['target']} | {t['measured']} | {t['sdv']} | {t['status']} |"
        for t in results["targets"]
    ]
    lines += ["", *_conditions_section(results), "", *_constraints_section(results)]
    return "\n".join(lines) + "\n"


def _conditions_section(results: dict[str, Any]) -> list[str]:
    rows = results["settings"]["rows"]
    lines = [
        f"## Conditional sampling ({rows:,} rows)",
        "",
        "The condition is the categorical level whose share of the training rows is"
        " closest to 1 % (within 0.5-2 %). Unconditional fidelity: the first"
        " min(training rows, 10,000) unconditional rows against all training rows;"
        " conditional: the conditioned rows against the training rows that meet the"
        " condition, the conditioned column left out (constant on both sides). `holdout`"
        " is the reference a perfect generator would get: the holdout rows (meeting the"
        " condition) scored the same way; with few real rows both scores carry more"
        " sampling noise.",
        "",
        "| table | condition | engine | fit s | free s | conditional s | ratio | rows (meeting)"
        " | pair trend free / conditional | detection free / conditional |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    notes = []
    for name, table in results["conditions"].items():
        if table.get("status") != "ok":
            notes.append(f"- **{name}**: skipped: {table['reason']}")
            continue
        c = table["condition"]
        where = f"`{c['column']}` = {c['value']!r} ({_pct(c['share'], 2)}, {c['real_rows']} rows)"
        for engine, r in table["engines"].items():
            lines.append(f"| {name} | {where} | {engine} | " + _condition_cells(r) + " |")
            for key in ("reason", "conditional_error"):
                if r.get(key):
                    notes.append(f"- **{name}** / {engine}: {r[key]}")
        for engine, r in [*table["engines"].items(), ("holdout", table.get("reference") or {})]:
            for part in ("unconditional", "conditional"):
                if (r.get(part) or {}).get("error"):
                    notes.append(f"- **{name}** / {engine} / {part}: {r[part]['error']}")
        ref = table.get("reference") or {}
        cells = ["-"] * 5 + [_pair(ref, "pair_trend"), _pair(ref, "detection")]
        lines.append(f"| {name} | {where} | holdout | " + " | ".join(cells) + " |")
    return [*lines, "", *_holdout_reading(results), *notes]


def _holdout_reading(results: dict[str, Any]) -> list[str]:
    """How the holdout (fresh real rows) itself fares on the conditional-fidelity target."""
    tables = [t for t in results["conditions"].values() if t.get("status") == "ok"]
    lines = []
    for measure in ("pair_trend", "detection"):
        pairs = [_pair_of(t.get("reference") or {}, measure) for t in tables]
        pairs = [(g, f) for g, f in pairs if g is not None and f is not None]
        if pairs:
            lower = sum(g < f for g, f in pairs)
            lines.append(
                f"The holdout's own conditional {measure.replace('_', ' ')} is below its"
                f" unconditional one in {lower} of {len(pairs)} tables."
            )
    return [" ".join(lines), ""] if lines else []


def _pair_of(r: dict[str, Any], measure: str) -> tuple[float | None, float | None]:
    given = (r.get("conditional") or {}).get(measure)
    return given, (r.get("unconditional") or {}).get(measure)


def _condition_cells(r: dict[str, Any]) -> str:
    if r.get("status") != "ok":
        return " | ".join(["failed"] + ["-"] * 6)
    done = r.get("conditional_status") == "ok" or r.get("conditional_status") == "fewer rows"
    cells = [
        _sec(r.get("fit_s")),
        _sec(r.get("unconditional_s")),
        _sec(r.get("conditional_s")) if done else r.get("conditional_status", "-"),
        f"{r['ratio']:.2f}x" if done else "-",
        f"{r['conditional_rows']:,} ({_pct(r['meeting_condition'])})" if done else "-",
        _pair(r, "pair_trend"),
        _pair(r, "detection"),
    ]
    return " | ".join(cells)


def _pair(r: dict[str, Any], measure: str) -> str:
    free = (r.get("unconditional") or {}).get(measure)
    given = (r.get("conditional") or {}).get(measure)
    return f"{_num(free)} / {_num(given)}"


def _constraints_section(results: dict[str, Any]) -> list[str]:
    lines = [
        "## Constraints",
        "",
        "The constraints are those `propose_constraints` finds in the training rows (every"
        " real row meets them). Each engine fits the training rows without and with them"
        " and samples as many rows (at most 10,000); validity is checked with"
        " `synthdata.engine.constraints.unmet` on every constraint, for every engine"
        " (SDV's too, including those SDV cannot express). Fidelity is against all"
        " training rows.",
        "",
    ]
    for name, table in results["constraints"].items():
        lines.append(f"### {name} ({table['source']}, {table['train_rows']:,} training rows)")
        lines.append("")
        if table.get("status") != "ok":
            lines += [f"Skipped: {table['reason']}.", ""]
            continue
        lines += ["| constraint | in SDV |", "| --- | --- |"]
        lines += [f"| `{c['constraint']}` | {c.get('sdv', '-')} |" for c in table["constraints"]]
        lines += [
            "",
            "| engine | constraints | status | valid rows | pair trend | detection | fit s"
            " | sample s |",
            "| --- | --- | --- | --- | --- | --- | --- | --- |",
        ]
        notes = []
        for engine, runs in table["engines"].items():
            for variant, r in runs.items():
                lines.append(f"| {engine} | {variant} | " + _constraint_cells(r) + " |")
                if r.get("reason"):
                    notes.append(f"- {engine} / {variant}: {r['status']}: {r['reason']}")
                if r.get("error"):
                    notes.append(f"- {engine} / {variant}: {r['error']}")
                broken = {k: v for k, v in r.get("per_constraint", {}).items() if v < 1.0}
                if broken:
                    each = "; ".join(f"`{k}` {_pct(v, 2)}" for k, v in broken.items())
                    notes.append(f"- {engine} / {variant}: rows meeting each broken one: {each}")
        lines += ["", *notes, ""] if notes else [""]
    return lines


def _constraint_cells(r: dict[str, Any]) -> str:
    if r.get("status") != "ok":
        return " | ".join([r.get("status", "-")] + ["-"] * 5)
    cells = [
        "ok",
        _pct(r["validity"], 2),
        _num(r.get("pair_trend")),
        _num(r.get("detection")),
        _sec(r.get("fit_s")),
        _sec(r.get("sample_s")),
    ]
    return " | ".join(cells)


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def _pct(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{100 * value:.{digits}f} %"


def _sec(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"

"""The targets and the Markdown page of the privacy benchmark (`benchmarks.privacy`)."""

from __future__ import annotations

from typing import Any

from benchmarks.engine_report import machine_lines

DCR_LIMIT = 0.55
RISKS = (
    ("singling_out_univariate", "singling out, 1 column"),
    ("singling_out_multivariate", "singling out, 3 columns"),
    ("linkability", "linkability"),
    ("inference", "inference (riskiest secret)"),
)
TARGETS = (
    ("dcr", f"DCR share <= {DCR_LIMIT}"),
    ("copies", "exact copies <= the holdout's rate"),
    ("rare", "0 rare values (< k) written"),
    ("pii", "0 real PII values written"),
    ("risks", "anonymeter risks with 95 % CIs"),
)
OK, FAIL, NA = "PASS", "FAIL", "n/a"


def check_targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per (table, target) for the default generator: measured value and verdict."""
    default = results["settings"]["default"]
    rows = []
    for table, record in results["tables"].items():
        r = record["generators"].get(default, {})
        reference = record["generators"].get("holdout", {}).get("dcr_share")
        for key, target in TARGETS:
            measured, ok = _check(key, r) if r.get("status") == "ok" else ("not run", False)
            if key == "dcr" and reference is not None and r.get("status") == "ok":
                measured += f" (holdout {reference:.3f})"  # its own sampling noise
            status = NA if ok is None else (OK if ok else FAIL)
            rows.append({"table": table, "target": target, "measured": measured, "status": status})
    return rows


def _check(key: str, r: dict[str, Any]) -> tuple[str, bool | None]:
    if key == "dcr":
        return f"{r['dcr_share']:.3f}", r["dcr_share"] <= DCR_LIMIT
    if key == "copies":
        measured = f"{_pct(r['exact_copy_rate'])} (holdout {_pct(r['holdout_copy_rate'])})"
        return measured, r["exact_copy_rate"] <= r["holdout_copy_rate"]
    if key == "rare":
        return f"{r['rare_emitted']} of {r['rare_values']}", r["rare_emitted"] == 0
    if key == "pii":
        if r.get("pii_values") is None:
            return "no PII columns", None
        return f"{r['pii_emitted']} of {r['pii_values']}", r["pii_emitted"] == 0
    missing = [label for name, label in RISKS if not _has_ci(r["risks"].get(name))]
    if missing:
        return "not measured: " + ", ".join(missing), False
    return f"{len(RISKS)} of {len(RISKS)}", True


def _has_ci(risk: dict[str, Any] | None) -> bool:
    return risk is not None and risk.get("risk") is not None and bool(risk.get("ci"))


def render_markdown(results: dict[str, Any]) -> str:
    """The whole page: machine, targets per table, then every measure per generator."""
    s = results["settings"]
    lines = [
        "# Privacy benchmark",
        "",
        f"Run {results['date']} with `{s['command'].strip()}`"
        f" in {results.get('duration_s', 0) / 60:.1f} min.",
        *machine_lines(results),
        "",
        f"Each table split 70/30 (seed {s['split_seed']}); each generator fits the training"
        " rows and samples as many. k (rare values) ="
        f" {s['min_value_count']}; anonymeter: {s['n_attacks']} attacks per risk on at most"
        f" {s['attack_rows']} rows per set; risks are `value [95 % CI]`. The `holdout` row"
        " is half of the holdout judged against the other half: what a perfect generator"
        " would get.",
        "",
        f"## Targets (default synthesizer `{s['default']}`)",
        "",
        *targets_table(results),
        "",
    ]
    for title, cell in _MEASURES:
        lines += [f"## {title}", "", *_measure_table(results, cell), ""]
    lines += _notes(results)
    return "\n".join(lines).rstrip() + "\n"


def targets_table(results: dict[str, Any]) -> list[str]:
    """Tables down, targets across, `PASS value` in each cell; a tally below."""
    targets = [label for _, label in TARGETS]
    rows = results.get("targets") or check_targets(results)
    cells = {(r["table"], r["target"]): f"{r['status']} {r['measured']}" for r in rows}
    lines = ["| table | " + " | ".join(targets) + " |", "|---" * (len(targets) + 1) + "|"]
    for table in results["tables"]:
        row = [cells.get((table, t), "-") for t in targets]
        lines.append(f"| {table} | " + " | ".join(row) + " |")
    judged = [r for r in rows if r["status"] != NA]
    passed = sum(r["status"] == OK for r in judged)
    failed = sorted({f"{r['table']} ({r['target']})" for r in judged if r["status"] == FAIL})
    lines += ["", f"{passed} of {len(judged)} checks pass."]
    if failed:
        lines.append("Failing: " + "; ".join(failed) + ".")
    return lines


def _measure_table(results: dict[str, Any], cell: Any) -> list[str]:
    generators = results["settings"]["generators"]
    lines = ["| table | " + " | ".join(generators) + " |", "|---" * (len(generators) + 1) + "|"]
    for table, record in results["tables"].items():
        row = []
        for g in generators:
            r = record["generators"].get(g, {})
            row.append(cell(r) if r.get("status") == "ok" else r.get("status", "-"))
        lines.append(f"| {table} | " + " | ".join(row) + " |")
    return lines


def _risk(name: str) -> Any:
    def cell(r: dict[str, Any]) -> str:
        risk = r["risks"].get(name) or {}
        if risk.get("risk") is None:
            return "not measured"
        low, high = risk["ci"]
        return f"{risk['risk']:.3f} [{low:.3f}, {high:.3f}]"

    return cell


def _copies(r: dict[str, Any]) -> str:
    return f"{_pct(r['exact_copy_rate'])} (holdout {_pct(r['holdout_copy_rate'])})"


def _pii(r: dict[str, Any]) -> str:
    return "-" if r.get("pii_values") is None else f"{r['pii_emitted']} of {r['pii_values']}"


def _time(r: dict[str, Any]) -> str:
    fit = "-" if r.get("fit_s") is None else f"{r['fit_s'] + r['sample_s']:.1f} s"
    return f"{fit} / {r.get('wall_s', 0):.0f} s"


_MEASURES = (
    ("DCR share vs the holdout (0.5 is ideal)", lambda r: f"{r['dcr_share']:.3f}"),
    ("Exact copies of a training row (the holdout's own rate)", _copies),
    (
        "Rare values (< k training rows) written verbatim: values (synthetic rows) of the rare",
        lambda r: f"{r['rare_emitted']} ({r['rare_rows_emitted']}) of {r['rare_values']}",
    ),
    ("Real PII values written (whole cells or inside text) of those in the training rows", _pii),
    *((f"anonymeter risk: {label}", _risk(name)) for name, label in RISKS),
    (
        "Membership inference AUC (0.5: membership cannot be told)",
        lambda r: f"{r['membership_auc']:.3f}",
    ),
    ("Seconds: fit + sample / whole measurement", _time),
)


def _notes(results: dict[str, Any]) -> list[str]:
    lines = ["## Notes", ""]
    for table, record in results["tables"].items():
        lines.append(
            f"- {table}: {record['source']}, {record['train_rows']:,} training rows,"
            f" {record['holdout_rows']:,} holdout rows, {record['columns']} columns."
        )
        for g, r in record["generators"].items():
            if r.get("status") != "ok":
                lines.append(f"  - {g}: {r.get('status')}: {r.get('reason')}")
            elif r.get("attack_notes"):
                lines.append(
                    f"  - {g}: {len(r['attack_notes'])} anonymeter note(s), e.g."
                    f" {r['attack_notes'][0]}"
                )
    return lines


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.2%}"

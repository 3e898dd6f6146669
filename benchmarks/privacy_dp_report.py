"""The Markdown page of the differential privacy benchmark (`benchmarks.privacy_dp`)."""

from __future__ import annotations

from typing import Any

from benchmarks.engine_report import machine_lines

ENGINES = ("dp", "mst", "aim")
NAMES = {"dp": "synthdata dp", "mst": "smartnoise MST", "aim": "smartnoise AIM"}
MIA_TARGET = 0.55


def render_markdown(results: dict[str, Any]) -> str:
    """Tables per epsilon, then each target with what was measured."""
    peer = results.get("peer") or {}
    lines = [
        "# Differential privacy: synthdata dp vs smartnoise-synth MST and AIM",
        "",
        f"Run {results['started']} to {results.get('finished', '-')}; "
        f"delta {results['delta']:g} for every engine. Command: `python -m benchmarks.privacy_dp`.",
        "",
        *machine_lines(results),
        "Peer environment: " + ", ".join(f"{k} {v}" for k, v in peer.items() if v) + ".",
        "",
        "Pair trend and detection: `synthdata.engine.fidelity` (1 is best; detection is "
        "1 - 2 x |AUC - 0.5| of a classifier telling real from synthetic rows). Seconds: "
        "fit + sample of as many rows as the training split, imports excluded. MIA AUC: "
        "the distance membership-inference attack (`engine._privacy.membership`) on the "
        "training rows against the holdout (0.5: membership not told). smartnoise is run "
        "with 10 % of epsilon for its bounds (`preprocessor_eps`), its category lists "
        "taken from the rows without noise (ours are found with noise).",
        "",
    ]
    for epsilon in results["epsilons"]:
        lines += [f"## epsilon = {epsilon:g}", ""]
        head = "| table | rows | " + " | ".join(
            f"{NAMES[e]} trend / detection / s / MIA" for e in ENGINES
        )
        lines += [head + " |", "|" + " --- |" * (2 + len(ENGINES))]
        for name, table in results["tables"].items():
            cells = [_cell(table["runs"].get(f"{e}@{epsilon:g}")) for e in ENGINES]
            lines.append(f"| {name} | {table['train_rows']:,} | " + " | ".join(cells) + " |")
        lines.append("")
    lines += ["## Targets", "", "| target | measured | met |", "| --- | --- | --- |"]
    lines += [f"| {t} | {m} | {ok} |" for t, m, ok in check_targets(results)]
    return "\n".join(lines) + "\n"


def _cell(run: dict[str, Any] | None) -> str:
    if run is None:
        return "not run"
    if run.get("status") != "ok":
        return f"failed: {run.get('reason', '?')}"
    seconds = run["fit_s"] + run["sample_s"]
    return (
        f"{_num(run.get('pair_trend'))} / {_num(run.get('detection'))} / "
        f"{seconds:.1f} / {_num(run.get('mia_auc'))}"
    )


def check_targets(results: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(target, measured, met) rows: fidelity and time against each peer at each epsilon,
    and the attack's AUC."""
    rows = []
    for epsilon in results["epsilons"]:
        for peer in ("mst", "aim"):
            pairs = _pairs(results, epsilon, peer)
            failed = _peer_failed(results, epsilon, peer)
            if failed:
                rows.append(
                    (
                        f"{NAMES[peer]} ran at epsilon {epsilon:g}",
                        f"failed on {len(failed)} table(s): {', '.join(failed)}"
                        " (not counted below)",
                        "-",
                    )
                )
            if not pairs:
                continue
            for key, label in (("pair_trend", "pair trend"), ("detection", "detection")):
                losses = [n for n, (o, p) in pairs.items() if o[key] < p[key] - 1e-9]
                rows.append(
                    (
                        f"{label} >= {NAMES[peer]}'s at epsilon {epsilon:g}",
                        f"{len(pairs) - len(losses)} of {len(pairs)} tables"
                        + (f" (below on {', '.join(losses)})" if losses else ""),
                        _met(not losses),
                    )
                )
            slower = [n for n, (o, p) in pairs.items() if _time(o) > _time(p)]
            rows.append(
                (
                    f"time <= {NAMES[peer]}'s at epsilon {epsilon:g}",
                    f"{len(pairs) - len(slower)} of {len(pairs)} tables"
                    + (f" (slower on {', '.join(slower)})" if slower else ""),
                    _met(not slower),
                )
            )
    aucs = {
        f"{name} @ {run_key}": run["mia_auc"]
        for name, table in results["tables"].items()
        for run_key, run in table["runs"].items()
        if run_key.startswith("dp@") and run.get("mia_auc") is not None
    }
    if aucs:
        worst = max(aucs, key=aucs.__getitem__)
        rows.append(
            (
                f"dp MIA AUC <= {MIA_TARGET}",
                f"max {aucs[worst]:.3f} ({worst}) over {len(aucs)} runs",
                _met(aucs[worst] <= MIA_TARGET),
            )
        )
    return rows


def _pairs(
    results: dict[str, Any], epsilon: float, peer: str
) -> dict[str, tuple[dict[str, Any], dict[str, Any]]]:
    """Tables where both ours and the peer ran at `epsilon` (a failed peer is listed
    apart, not counted as a win)."""
    out = {}
    for name, table in results["tables"].items():
        ours = table["runs"].get(f"dp@{epsilon:g}")
        theirs = table["runs"].get(f"{peer}@{epsilon:g}")
        if ours and theirs and ours.get("status") == theirs.get("status") == "ok":
            out[name] = (ours, theirs)
    return out


def _peer_failed(results: dict[str, Any], epsilon: float, peer: str) -> list[str]:
    """Tables where the peer ran at `epsilon` and failed (or timed out)."""
    return [
        name
        for name, table in results["tables"].items()
        if table["runs"].get(f"{peer}@{epsilon:g}", {}).get("status") == "failed"
    ]


def _time(run: dict[str, Any]) -> float:
    return float(run["fit_s"] + run["sample_s"])


def _met(ok: bool) -> str:
    return "yes" if ok else "**no**"


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"

"""How the commands show privacy: rare values pooled while fitting, and attack results."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from synthdata.cli.console import console, info
from synthdata.engine.defaults import DEFAULT_HOLDOUT_SHARE, DEFAULT_N_ATTACKS

if TYPE_CHECKING:
    import pandas as pd
    from rich.progress import Progress

    from synthdata.engine.rare import RareColumn

__all__ = [
    "DEFAULT_N_ATTACKS",
    "NAttacksOpt",
    "PrivacyOpt",
    "fit_with_holdout",
    "render_privacy",
    "report_rare_values",
]

PrivacyOpt = Annotated[
    bool,
    typer.Option(
        "--privacy",
        help="Also attack the synthetic table: anonymeter's singling-out, linkability and "
        "inference risks with 95% intervals, and a membership-inference AUC, all against "
        "the holdout (see docs/privacy.md).",
    ),
]
NAttacksOpt = Annotated[
    int,
    typer.Option(
        "--n-attacks",
        min=10,
        help="Attacks per anonymeter evaluator: more narrows the intervals, costs time.",
    ),
]
SPLIT_SEED = 0


def fit_with_holdout(
    display: Progress,
    real: pd.DataFrame,
    holdout: pd.DataFrame | None,
    synthesizer: str,
    min_value_count: int | None,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(training rows, synthetic rows, holdout) for `evaluate REAL --privacy`: without a
    holdout, `DEFAULT_HOLDOUT_SHARE` of REAL is set aside (seeded) BEFORE fitting, so the
    attacks have rows the generator never saw to compare with; as many rows as were
    fitted are sampled."""
    import synthdata
    from synthdata.engine.evaluation import split_holdout

    if holdout is None:
        real, holdout = split_holdout(real, DEFAULT_HOLDOUT_SHARE, SPLIT_SEED)
        info(
            f"held out {DEFAULT_HOLDOUT_SHARE:.0%} of the real rows ({len(holdout):,}, seed "
            f"{SPLIT_SEED}) before fitting: the {synthesizer} synthesizer learnt the other "
            f"{len(real):,} rows; the attacks' baseline is the held-out rows"
        )
    else:
        info("fitting on all of REAL; the attacks' baseline is the --holdout rows")
    task = display.add_task(f"fitting {synthesizer}", total=None)
    model = synthdata.fit(real, synthesizer=synthesizer, min_value_count=min_value_count)
    display.update(task, total=1, completed=1)
    report_rare_values(model.rare_values)
    return real, model.sample(len(real), seed=SPLIT_SEED), holdout


def report_rare_values(pooled: dict[str, RareColumn]) -> None:
    """One note per column whose rare categories were pooled while fitting."""
    for rare in pooled.values():
        form = rare.replacement
        if form.startswith("label:"):
            how = f"written as {form.removeprefix('label:')!r}"
        elif form == "null":
            how = "written as missing"
        else:
            how = "replaced by fresh values of their shape"
        info(
            f"rare values: {rare.column}: {rare.values:,} value(s) held by fewer than "
            f"{rare.min_count} rows ({rare.rows:,} rows) are never written; {how}"
        )


def render_privacy(privacy: dict[str, Any]) -> None:
    """The rare-value check and the attacks of `evaluate --privacy` (engine/_privacy)."""
    rare = privacy.get("rare_values") or {}
    if rare:
        table = Table(title=f"Rare values (held by < {privacy.get('min_value_count')} real rows)")
        for heading in ("column", "rare values", "real rows", "written verbatim", "protected"):
            table.add_column(heading, justify="left" if heading == "column" else "right")
        for name, row in rare.items():
            table.add_row(
                name,
                f"{row['rare_values']:,}",
                f"{row['rare_rows']:,}",
                f"{row['emitted_verbatim']:,}",
                f"{row['protected']:,}",
            )
        console.print(table)
    attacks = privacy.get("attacks")
    if not attacks:
        return
    table = Table(title="Privacy attacks (risk 0: no better against training rows than others)")
    for heading in ("attack", "risk", "95% CI", "success: training rows", "holdout rows"):
        table.add_column(heading, justify="left" if heading == "attack" else "right")
    for name, row in attacks.get("anonymeter", {}).items():
        if name == "inference_by_secret":
            continue
        label = name.replace("_", " ") + (f" ({row['secret']})" if row.get("secret") else "")
        if row.get("risk") is None:
            table.add_row(label, "n/a", "", "", "")
            continue
        low, high = row["ci"]
        table.add_row(
            label,
            f"{row['risk']:.3f}",
            f"{low:.3f} - {high:.3f}",
            _share(row.get("attack_rate")),
            _share(row.get("control_rate")),
        )
    mia = attacks.get("membership_auc")
    if mia is not None:
        table.add_row("membership inference (AUC, 0.5 ideal)", f"{mia:.3f}", "", "", "")
    console.print(table)
    for note in attacks.get("notes", []):
        console.print(Text(f"note: {note}"))


def _share(value: Any) -> str:
    return "n/a" if value is None else f"{float(value):.1%}"

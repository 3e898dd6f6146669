"""The engine commands end to end: happy paths, and every bad input as one clean line."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from typer.testing import CliRunner, Result

import synthdata
from synthdata.cli.main import app

runner = CliRunner()


@pytest.fixture(autouse=True)
def _no_debug(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SYNTHDATA_DEBUG", raising=False)
    monkeypatch.delenv("SYNTHDATA_MAX_INPUT_BYTES", raising=False)


@pytest.fixture
def table(tmp_path: Path) -> Path:
    """A small mixed-type CSV table."""
    rng = np.random.default_rng(7)
    rows = 200
    frame = pd.DataFrame(
        {
            "age": rng.integers(18, 90, rows),
            "income": rng.lognormal(10, 0.5, rows).round(2),
            "city": rng.choice(["Oslo", "Lima", "Pune"], rows),
            "member": rng.random(rows) < 0.3,
        }
    )
    path = tmp_path / "real.csv"
    frame.to_csv(path, index=False)
    return path


@pytest.fixture
def out_dir(tmp_path: Path) -> Path:
    """An empty directory for outputs, so leftovers (partial or temporary files) show."""
    folder = tmp_path / "out"
    folder.mkdir()
    return folder


def invoke(*args: str | Path, env: dict[str, str] | None = None) -> Result:
    return runner.invoke(app, [str(a) for a in args], env=env)


def assert_ok(result: Result) -> None:
    assert result.exit_code == 0, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def assert_one_line_error(result: Result, fragment: str, code: int = 2) -> None:
    """Exit `code`, exactly one line on stderr naming the problem, nothing on stdout."""
    assert result.exit_code == code, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    prefix = "error: " if code == 2 else "internal error: "
    assert lines[0].startswith(prefix), lines[0]
    assert fragment in lines[0]
    assert "Traceback" not in result.output
    assert result.stdout == ""


# -- happy paths ------------------------------------------------------------------------


def test_version() -> None:
    result = invoke("--version")
    assert_ok(result)
    assert result.stdout.strip() == f"synthdata {synthdata.__version__}"


def test_generate_csv(table: Path, out_dir: Path) -> None:
    output = out_dir / "fake.csv"
    result = invoke("generate", table, "--rows", "150", "--output", output, "--seed", "3")
    assert_ok(result)
    fake = pd.read_csv(output)
    assert len(fake) == 150
    assert list(fake.columns) == ["age", "income", "city", "member"]
    assert set(fake["city"].dropna()) <= {"Oslo", "Lima", "Pune"}
    assert "wrote 150 synthetic rows" in result.stderr
    assert [p.name for p in out_dir.iterdir()] == ["fake.csv"]


@pytest.mark.parametrize(
    ("name", "extra"), [("fake.parquet", []), ("fake.data", ["--format", "parquet"])]
)
def test_generate_parquet(table: Path, out_dir: Path, name: str, extra: list[str]) -> None:
    output = out_dir / name
    result = invoke("generate", table, "-n", "120", "-o", output, "--seed", "1", *extra)
    assert_ok(result)
    fake = pd.read_parquet(output)
    assert len(fake) == 120
    assert list(fake.columns) == ["age", "income", "city", "member"]


def test_type_override_is_applied(table: Path, out_dir: Path) -> None:
    result = invoke("schema", table, "--json", "--type", "age=categorical")
    assert_ok(result)
    kinds = {c["name"]: c["kind"] for c in json.loads(result.stdout)["columns"]}
    assert kinds["age"] == "categorical"
    output = out_dir / "fake.csv"
    assert_ok(invoke("generate", table, "-n", "50", "-o", output, "--type", "age=categorical"))
    assert len(pd.read_csv(output)) == 50


def test_fit_then_sample_equals_generate(table: Path, out_dir: Path) -> None:
    model = out_dir / "real.synth"
    assert_ok(invoke("fit", table, "--output", model))
    assert model.is_file()
    sampled = out_dir / "sampled.csv"
    assert_ok(invoke("sample", model, "--rows", "80", "--output", sampled, "--seed", "11"))
    generated = out_dir / "generated.csv"
    assert_ok(invoke("generate", table, "--rows", "80", "--output", generated, "--seed", "11"))
    pd.testing.assert_frame_equal(pd.read_csv(sampled), pd.read_csv(generated))
    # A different seed gives different rows: the comparison above is not vacuous.
    other = out_dir / "other.csv"
    assert_ok(invoke("sample", model, "--rows", "80", "--output", other, "--seed", "12"))
    assert not pd.read_csv(other).equals(pd.read_csv(sampled))


@pytest.mark.parametrize("where", ["root", "command"])
def test_quiet_prints_nothing(table: Path, out_dir: Path, where: str) -> None:
    output = out_dir / "fake.csv"
    args: list[str | Path] = ["generate", table, "-n", "40", "-o", output]
    args = ["--quiet", *args] if where == "root" else [*args, "--quiet"]
    result = invoke(*args)
    assert_ok(result)
    assert result.stdout == ""
    assert result.stderr == ""
    assert len(pd.read_csv(output)) == 40


def test_schema_table(table: Path) -> None:
    result = invoke("schema", table)
    assert_ok(result)
    for name, kind in [("age", "integer"), ("income", "continuous"), ("city", "categorical")]:
        line = next(row for row in result.stdout.splitlines() if f" {name} " in row)
        assert kind in line


def test_evaluate_json_and_report(table: Path, out_dir: Path) -> None:
    fake = out_dir / "fake.csv"
    assert_ok(invoke("-q", "generate", table, "-n", "200", "-o", fake, "--seed", "5"))
    report = out_dir / "report.html"
    result = invoke("evaluate", table, fake, "--json", "--report", report)
    assert_ok(result)
    scores = json.loads(result.stdout)
    assert 0.0 <= scores["quality_score"] <= 1.0
    assert scores["quality_score"] > 0.5  # a copula on 4 simple columns is far from random
    assert scores["privacy"]["risk"] in {"low", "medium", "high"}
    assert 0.0 <= scores["privacy"]["exact_copy_rate"] <= 1.0
    assert report.read_text(encoding="utf-8").lstrip().lower().startswith("<!doctype html")


def test_evaluate_table_with_holdout(table: Path, out_dir: Path) -> None:
    frame = pd.read_csv(table)
    train, holdout = out_dir / "train.csv", out_dir / "holdout.csv"
    frame.iloc[:120].to_csv(train, index=False)
    frame.iloc[120:].to_csv(holdout, index=False)
    fake = out_dir / "fake.csv"
    assert_ok(invoke("-q", "generate", train, "-n", "120", "-o", fake, "--seed", "2"))
    result = invoke("-q", "evaluate", train, fake, "--holdout", holdout)
    assert_ok(result)
    assert "quality score" in result.stdout
    assert "privacy risk" in result.stdout
    assert result.stderr == ""


def test_evaluate_target_and_holdout_set_aside(table: Path, out_dir: Path) -> None:
    fake = out_dir / "fake.csv"
    assert_ok(invoke("-q", "generate", table, "-n", "200", "-o", fake, "--seed", "3"))
    result = invoke("evaluate", table, fake, "--target", "city")
    assert_ok(result)
    assert "TSTR / TRTR (macro_f1)" in result.stdout
    assert "pair trend (fixed bins, all pairs)" in result.stdout
    words = " ".join(result.stdout.split())  # the console wraps long notes
    assert "set aside as the holdout" in words  # no --holdout: it says what it did
    scores = json.loads(invoke("-q", "evaluate", table, fake, "--json").stdout)
    assert scores["holdout_source"] == "split" and scores["tstr"] is None
    assert 0.0 <= scores["detection"] <= 1.0 and 0.0 <= scores["privacy"]["dcr_share"] <= 1.0


# -- bad input: one line on stderr, exit code 2, no output file ---------------------------


def _write(name: str, content: bytes) -> Callable[[Path], Path]:
    def make(folder: Path) -> Path:
        path = folder / name
        path.write_bytes(content)
        return path

    return make


BAD_INPUTS = {
    "missing": (lambda folder: folder / "absent.csv", [], "input file not found"),
    "empty": (_write("empty.csv", b""), [], "empty"),
    "header only": (_write("header.csv", b"a,b,c\n"), [], "no rows"),
    "malformed": (_write("bad.csv", b"a,b\n1,2\n3,4,5\n6,7\n"), [], "cannot read"),
    "latin-1": (_write("latin.csv", "name,n\ncafé,1\nthé,2\n".encode("latin-1")), [], "UTF-8"),
    "utf-16": (_write("wide.csv", "a,b\n1,2\n3,4\n".encode("utf-16")), [], "cannot read"),
    "input format": (_write("table.xlsx", b"a,b\n1,2\n"), [], "unsupported file format"),
    "type kind": (None, ["--type", "age=money"], "unsupported column type 'money'"),
    "type form": (None, ["--type", "age"], "COLUMN=KIND"),
    "type column": (None, ["--type", "nope=integer"], "nope"),
    "size limit": (None, ["--max-input-bytes", "100"], "over the limit of 100 bytes"),
    "synthesizer": (None, ["--synthesizer", "nope"], "unknown synthesizer"),
}


@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_generate_bad_input(case: str, table: Path, tmp_path: Path, out_dir: Path) -> None:
    make, extra, fragment = BAD_INPUTS[case]
    source = make(tmp_path) if make is not None else table
    output = out_dir / "fake.csv"
    result = invoke("generate", source, "--rows", "10", "--output", output, *extra)
    assert_one_line_error(result, fragment)
    assert list(out_dir.iterdir()) == []


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--rows", "-5"], "got -5"),
        (["--rows", "0"], "got 0"),
        (["--format", "xlsx"], "unsupported file format 'xlsx'"),
    ],
)
def test_generate_bad_option(table: Path, out_dir: Path, args: list[str], fragment: str) -> None:
    args = ["--rows", "10", *args] if "--rows" not in args else args
    result = invoke("generate", table, "--output", out_dir / "fake.csv", *args, "--seed", "1")
    assert_one_line_error(result, fragment)
    assert list(out_dir.iterdir()) == []


def test_size_limit_from_environment(table: Path, out_dir: Path) -> None:
    env = {"SYNTHDATA_MAX_INPUT_BYTES": "100"}
    result = invoke("generate", table, "-n", "5", "-o", out_dir / "f.csv", env=env)
    assert_one_line_error(result, "over the limit of 100 bytes")
    assert list(out_dir.iterdir()) == []
    # The option wins over the environment.
    result = invoke("generate", table, "-n", "5", "-o", out_dir / "f.csv", "--max-input-bytes", "0")
    assert_ok(result)


@pytest.mark.parametrize(
    ("content", "fragment"),
    [(b"not a model", "not a synthdata model file"), (None, "model file not found")],
)
def test_sample_bad_model(
    tmp_path: Path, out_dir: Path, content: bytes | None, fragment: str
) -> None:
    model = tmp_path / "broken.synth"
    if content is not None:
        model.write_bytes(content)
    result = invoke("sample", model, "--rows", "10", "--output", out_dir / "fake.csv")
    assert_one_line_error(result, fragment)
    assert list(out_dir.iterdir()) == []


def test_evaluate_missing_synthetic(table: Path, tmp_path: Path) -> None:
    result = invoke("evaluate", table, tmp_path / "absent.csv", "--json")
    assert_one_line_error(result, "input file not found")


def test_fit_bad_input_leaves_no_model(tmp_path: Path, out_dir: Path) -> None:
    source = _write("header.csv", b"a,b\n")(tmp_path)
    result = invoke("fit", source, "--output", out_dir / "model.synth")
    assert_one_line_error(result, "no rows")
    assert list(out_dir.iterdir()) == []


# -- errors the engine did not expect -----------------------------------------------------


def test_leaked_reader_error_is_a_user_error(
    table: Path, out_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fail(*args: object, **kwargs: object) -> None:
        raise pa.ArrowInvalid("CSV parse error: something odd\nsecond line")

    monkeypatch.setattr(synthdata, "fit", fail)
    result = invoke("generate", table, "-n", "5", "-o", out_dir / "fake.csv")
    assert_one_line_error(result, "cannot read the data: CSV parse error: something odd")


@pytest.mark.parametrize("debug", [False, True])
def test_internal_error(
    table: Path, out_dir: Path, monkeypatch: pytest.MonkeyPatch, debug: bool
) -> None:
    def fail(*args: object, **kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(synthdata, "fit", fail)
    env = {"SYNTHDATA_DEBUG": "1"} if debug else None
    result = invoke("generate", table, "-n", "5", "-o", out_dir / "fake.csv", env=env)
    if debug:
        assert result.exit_code == 1
        assert "Traceback" in result.stderr
        assert result.stderr.splitlines()[-1] == "internal error: RuntimeError: boom"
    else:
        assert_one_line_error(result, "RuntimeError: boom", code=1)
    assert list(out_dir.iterdir()) == []


# -- the real console script ----------------------------------------------------------------


def _script() -> list[str]:
    installed = Path(sys.executable).parent / "synthdata"
    if installed.is_file():
        return [str(installed)]
    found = shutil.which("synthdata")
    return [found] if found else [sys.executable, "-m", "synthdata"]


def _run(command: list[str], *args: str | Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "SYNTHDATA_DEBUG"}
    return subprocess.run(
        [*command, *map(str, args)], capture_output=True, text=True, timeout=120, env=env
    )


def test_console_script(table: Path, out_dir: Path, tmp_path: Path) -> None:
    output = out_dir / "fake.parquet"
    done = _run(_script(), "--quiet", "generate", table, "-n", "30", "-o", output, "--seed", "4")
    assert done.returncode == 0, done.stderr
    assert (done.stdout, done.stderr) == ("", "")
    assert len(pd.read_parquet(output)) == 30

    bad = _write("bad.csv", b"a,b\n1,2\n3,4,5\n")(tmp_path)
    failed = _run(_script(), "generate", bad, "-n", "5", "-o", out_dir / "bad.csv")
    assert failed.returncode == 2
    assert failed.stderr.count("\n") == 1 and failed.stderr.startswith("error: cannot read")
    assert "Traceback" not in failed.stderr
    assert not (out_dir / "bad.csv").exists()


def test_python_dash_m(tmp_path: Path) -> None:
    done = _run([sys.executable, "-m", "synthdata"], "--version")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"synthdata {synthdata.__version__}"
    missing = _run([sys.executable, "-m", "synthdata"], "schema", tmp_path / "absent.csv")
    assert missing.returncode == 2
    assert missing.stderr.strip().splitlines() == [
        f"error: input file not found: {tmp_path / 'absent.csv'}"
    ]

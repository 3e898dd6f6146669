"""Columns keep their written form: ZIP codes, dates as text, offsets, codes, names, labels."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import synthdata
from synthdata import ColumnKind, InputError, infer_schema, read_table
from synthdata.engine.base import SmallTableWarning
from synthdata.engine.loading import load_for_fit


@pytest.fixture(autouse=True)
def _quiet_small_tables() -> None:
    warnings.simplefilter("ignore", SmallTableWarning)


def _zips(n: int, seed: int = 0) -> list[str]:
    rng = np.random.default_rng(seed)
    return [f"{z:05d}" for z in rng.integers(0, 99_999, n)]


# -- 1. leading zeros ---------------------------------------------------------------------


def test_leading_zeros_are_kept_when_read_from_csv(tmp_path: Path) -> None:
    path = tmp_path / "zips.csv"
    pd.DataFrame({"zip": ["01234", "02345", "12345", "00501"] * 50, "n": range(200)}).to_csv(
        path, index=False
    )
    assert read_table(path)["zip"].tolist()[:4] == ["01234", "02345", "12345", "00501"]
    fake = synthdata.fit(path, synthesizer="copula").sample(200, seed=1)
    assert fake["zip"].str.fullmatch(r"\d{5}").all()
    assert set(fake["zip"]) <= {"01234", "02345", "12345", "00501"}


def test_a_text_override_keeps_zeros_arrow_would_drop(tmp_path: Path) -> None:
    # The first rows hold no leading zero, so only the override can tell the reader.
    zips = [str(z) for z in range(10_000, 16_000)] + ["01234", "00501"] * 100
    path = tmp_path / "late.csv"
    pd.DataFrame({"zip": zips}).to_csv(path, index=False)
    assert load_for_fit(path, None)["zip"].dtype == np.int64
    frame = load_for_fit(path, None, text={"zip"})
    assert "01234" in set(frame["zip"])
    model = synthdata.fit(path, synthesizer="copula", overrides={"zip": "categorical"})
    assert model.sample(5000, seed=0)["zip"].str.len().eq(5).all()


# -- 2. dates written as text -------------------------------------------------------------


def _day_first(n: int = 300) -> pd.DataFrame:
    rng = np.random.default_rng(1)
    days = pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 700, n), "D")
    return pd.DataFrame({"day": days.strftime("%d/%m/%Y"), "x": rng.normal(size=n)})


@pytest.mark.parametrize("synthesizer", ["copula", "chain"])
def test_day_first_dates_are_dates_written_back_in_their_format(synthesizer: str) -> None:
    real = _day_first()
    spec = infer_schema(real)["day"]
    assert spec.kind == ColumnKind.DATETIME and spec.datetime_format == "%d/%m/%Y"
    fake = synthdata.fit(real, synthesizer=synthesizer).sample(500, seed=3)
    assert fake["day"].str.fullmatch(r"\d{2}/\d{2}/\d{4}").all()
    stamps = pd.to_datetime(fake["day"], format="%d/%m/%Y")
    assert stamps.between("2020-01-01", "2021-12-31").all()
    assert fake["day"].nunique() > 50  # dates, not a handful of numbered identifiers


def test_forcing_datetime_on_day_first_text_works() -> None:
    real = _day_first().assign(day=lambda f: f["day"].where(f.index > 0, "01/02/2021"))
    model = synthdata.fit(real, synthesizer="copula", overrides={"day": "datetime"})
    assert model.sample(10, seed=1)["day"].str.fullmatch(r"\d{2}/\d{2}/\d{4}").all()


def test_a_given_date_format_wins_and_is_checked() -> None:
    real = pd.DataFrame({"d": ["2020.12.31", "2021.01.05", "2021.03.09"] * 30})
    schema = infer_schema(real, date_formats={"d": "%Y.%m.%d"})
    assert schema["d"].kind == ColumnKind.DATETIME and schema["d"].datetime_format == "%Y.%m.%d"
    fake = synthdata.fit(real, date_formats={"d": "%Y.%m.%d"}).sample(20, seed=1)
    assert fake["d"].str.fullmatch(r"\d{4}\.\d{2}\.\d{2}").all()
    with pytest.raises(InputError, match=r"'2020\.12\.31' is not a date/time in the format"):
        infer_schema(real, date_formats={"d": "%d/%m/%Y"})


def test_times_of_day_keep_their_form(tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    minutes = rng.integers(0, 24 * 60, 300)
    times = [f"{m // 60:02d}:{m % 60:02d}" for m in minutes]
    path = tmp_path / "times.csv"
    pd.DataFrame({"at": times}).to_csv(path, index=False)
    model = synthdata.fit(path, synthesizer="copula")
    assert model.schema is not None and model.schema["at"].datetime_format == "%H:%M"
    fake = model.sample(300, seed=1)["at"]
    assert fake.str.fullmatch(r"([01]\d|2[0-3]):[0-5]\d").all() and fake.nunique() > 100


def test_unreadable_dates_give_a_whole_one_line_message() -> None:
    real = pd.DataFrame({"d": ["31/12/2020", "2020-12-30", "Dec 5 2020", "20/04/2021"] * 20})
    with pytest.raises(InputError) as caught:
        synthdata.fit(real, synthesizer="copula", overrides={"d": "datetime"})
    message = str(caught.value)
    assert "\n" not in message and not message.endswith(":")
    assert "You might want to try" not in message
    assert "--date-format" in message


# -- 3. names, codes and free text are regenerated ------------------------------------------

PEOPLE = pd.DataFrame(
    {
        "name": ["Alice Smith", "Bob Jones", "Carol White", "Dan Brown", "Eve Black"],
        "email": ["alice@x.com", "bob@y.org", "carol@z.net", "dan@x.com", "eve@q.io"],
        "code": ["00M", "12K", "07Z", "99A", "45B"],
        "ref": ["AB-1234", "CD-5678", "EF-9012", "GH-3456", "IJ-7890"],
        "note": [
            "the quick brown fox jumps over the dog",
            "a rather long comment about the delivery",
            "some free text with many words in it",
            "another comment about the product here",
            "I did not like it at all really",
        ],
        "age": [31, 45, 27, 52, 38],
    }
)


def test_unique_text_in_a_tiny_table_is_not_copied() -> None:
    schema = infer_schema(PEOPLE)
    for name in ("name", "email", "code", "ref", "note"):
        assert schema[name].kind == ColumnKind.IDENTIFIER, name
    fake = synthdata.fit(PEOPLE).sample(200, seed=1)
    for name in ("name", "email", "code", "ref", "note"):
        assert not set(fake[name]) & set(PEOPLE[name]), name
    real_rows = set(map(tuple, PEOPLE.astype(str).to_numpy()))
    assert not any(tuple(row) in real_rows for row in fake.astype(str).to_numpy())


def test_codes_keep_their_shape() -> None:
    fake = synthdata.fit(PEOPLE).sample(300, seed=2)
    assert fake["code"].str.fullmatch(r"[0-9]{2}[A-Z]").all()
    assert fake["ref"].str.fullmatch(r"[A-Z]{2}-[0-9]{4}").all()
    assert fake["email"].str.fullmatch(r"[a-z]+@[a-z]\.[a-z]{2,3}").all()
    assert fake["name"].str.fullmatch(r"[A-Z][a-z]{2,4} [A-Z][a-z]{4}").all()
    assert infer_schema(PEOPLE)["code"].identifier_format == "pattern:99A"


def test_free_text_becomes_placeholder_text() -> None:
    spec = infer_schema(PEOPLE)["note"]
    assert spec.identifier_format == "text:6:8"
    fake = synthdata.fit(PEOPLE).sample(100, seed=3)
    words = fake["note"].str.split().str.len()
    assert words.between(6, 8).all()
    real_words = {w for note in PEOPLE["note"] for w in note.lower().split()}
    assert not {w for note in fake["note"] for w in note.lower().split()} & real_words


def test_nearly_unique_names_with_repeats_are_not_categories() -> None:
    rng = np.random.default_rng(4)
    first = ["Ann", "Ben", "Cleo", "Dev", "Eli", "Fay", "Gus", "Hana", "Ivo", "Jay"]
    last = ["Moss", "Reed", "Hale", "Cole", "Finch", "Shaw", "Wade", "Lowe", "Page", "Ross"]
    names = [f"{a} {b}" for a in first for b in last] + ["Ann Moss"] * 5
    real = pd.DataFrame({"name": names, "n": rng.integers(0, 100, len(names))})
    assert infer_schema(real)["name"].kind == ColumnKind.IDENTIFIER
    fake = synthdata.fit(real, synthesizer="copula").sample(500, seed=1)
    assert len(set(fake["name"]) & set(real["name"])) <= 2  # chance matches only


def test_nulls_of_regenerated_text_keep_their_rate() -> None:
    real = pd.DataFrame({"code": [f"X{i:03d}Q" if i % 4 else None for i in range(400)]})
    fake = synthdata.fit(real, synthesizer="copula").sample(4000, seed=1)
    assert fake["code"].isna().mean() == pytest.approx(0.25, abs=0.03)


def test_a_tiny_table_warns_that_rows_repeat() -> None:
    with pytest.warns(SmallTableWarning, match="only 1 row"):
        synthdata.fit(PEOPLE.head(1))


# -- 4. column names that are not text ------------------------------------------------------


@pytest.mark.parametrize("synthesizer", ["copula", "chain"])
def test_integer_column_names_come_back(synthesizer: str, tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    real = pd.DataFrame({0: rng.normal(size=200), 1: rng.choice(list("abc"), 200), 2: 7})
    model = synthdata.fit(real, synthesizer=synthesizer)
    assert list(model.sample(10, seed=1).columns) == [0, 1, 2]
    assert list(model.sample(0).columns) == [0, 1, 2]
    loaded = synthdata.load_model(model.save(tmp_path / "m.synth"))
    pd.testing.assert_frame_equal(loaded.sample(10, seed=1), model.sample(10, seed=1))
    with pytest.raises(InputError, match="duplicate"):
        synthdata.fit(pd.DataFrame([[1, 2]] * 60, columns=[0, "0"]))


# -- 5. UTC offsets --------------------------------------------------------------------------


def test_a_fixed_utc_offset_is_kept(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    local = pd.Timestamp("2024-01-01 08:00") + pd.to_timedelta(rng.integers(0, 10**6, 300), "s")
    path = tmp_path / "stamps.csv"
    pd.DataFrame(
        {"at": local.strftime("%Y-%m-%dT%H:%M:%S+02:00"), "v": rng.normal(size=300)}
    ).to_csv(path, index=False)
    model = synthdata.fit(path, synthesizer="copula")
    assert model.schema is not None and model.schema["at"].timezone == "+02:00"
    fake = model.sample(300, seed=1)
    assert fake["at"].str.fullmatch(r"2024-01-\d{2}T\d{2}:\d{2}:\d{2}\+02:00").all()


# -- 6. delimiters ---------------------------------------------------------------------------


@pytest.mark.parametrize("delimiter", [";", "\t", "|"])
def test_the_delimiter_is_found(delimiter: str, tmp_path: Path) -> None:
    path = tmp_path / "table.csv"
    lines = [f"a{delimiter}b{delimiter}c"] + [
        f"{i}{delimiter}x,{i}{delimiter}{i / 2}" for i in range(20)
    ]
    path.write_text("\n".join(lines) + "\n")
    frame = read_table(path)
    assert list(frame.columns) == ["a", "b", "c"]
    assert frame["b"].iloc[3] == "x,3"


def test_written_forms_survive_a_whole_generate(tmp_path: Path) -> None:
    real = tmp_path / "real.csv"
    rows = ["id;zip;day;code"] + [
        f"{i};{z};{(i % 28) + 1:02d}/0{(i % 9) + 1}/2021;{i % 10}{'ABC'[i % 3]}{i % 7}"
        for i, z in enumerate(_zips(400))
    ]
    real.write_text("\n".join(rows) + "\n")
    out = tmp_path / "fake.csv"
    model = synthdata.fit(real, synthesizer="copula")
    synthdata.write_frames(model.iter_chunks(100, seed=1), out)
    text = out.read_text().splitlines()
    assert text[0] == '"id","zip","day","code"'
    first = text[1].split(",")
    assert re.fullmatch(r'"\d{5}"', first[1]) and re.fullmatch(r'"\d{2}/\d{2}/2021"', first[2])

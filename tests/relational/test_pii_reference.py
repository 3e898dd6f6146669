"""Personal data in a small reference table is replaced like in any table."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd

from synthdata.relational import fit_tables


def test_a_reference_table_does_not_bring_back_real_names(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    doctors = ["Dr. Hans Gorlitz", "Dr. Nadin Zahn", "Dr. Torben Schaaf", "Dr. Vitus Mentzel"]
    staff = pd.DataFrame({"staff_id": range(1, 41), "doctor": rng.choice(doctors, 40)})
    visits = pd.DataFrame(
        {
            "visit_id": range(1, 301),
            "staff_id": rng.integers(1, 41, 300),
            "cost": rng.gamma(2, 50, 300),
        }
    )
    model = fit_tables({"staff": staff, "visits": visits}, seed=0)
    out = model.sample(seed=1)
    assert len(out["staff"]) > 0
    assert set(out["staff"]["doctor"]).isdisjoint(doctors)
    assert out["staff"]["doctor"].str.startswith("Dr. ").all()
    blob = _unzipped(model.save(tmp_path / "tables.synth").read_bytes())
    assert not [name for name in doctors if name.encode() in blob]


def _unzipped(data: bytes) -> bytes:
    """The members of a zip, and of the zips inside it, uncompressed."""
    parts = [data]
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for name in archive.namelist():
            member = archive.read(name)
            parts.append(_unzipped(member) if zipfile.is_zipfile(io.BytesIO(member)) else member)
    return b"\n".join(parts)

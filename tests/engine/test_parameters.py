"""Typed synthesizer parameters: declared, checked, reported, saved and loaded back."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import synthdata
from synthdata import InputError, create_synthesizer, list_synthesizers
from synthdata.engine.base import synthesizer_class
from synthdata.engine.sdv_adapter import _SDVSynthesizer
from synthdata.jobs.model_cache import is_cacheable


def _table(n: int = 300) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {"x": rng.normal(size=n), "k": rng.choice(["a", "b", "c"], n), "i": rng.integers(0, 9, n)}
    )


def test_a_misspelt_option_is_an_error_naming_it_and_the_accepted_ones() -> None:
    with pytest.raises(InputError) as caught:
        create_synthesizer("copula", stratfy=False)
    message = str(caught.value)
    assert "stratfy" in message
    assert "accepted: stratify, fit_seed" in message
    with pytest.raises(InputError, match="bins"):
        synthdata.fit(_table(), synthesizer="chain", binz=8)


def test_a_value_of_the_wrong_type_is_an_error() -> None:
    with pytest.raises(InputError, match="'stratify' of the copula synthesizer must be bool"):
        create_synthesizer("copula", stratify="no")
    with pytest.raises(InputError, match="must be int"):
        create_synthesizer("copula", fit_seed=1.5)
    # Where JSON is lossy the check is not: an int is a float, a list a tuple.
    create_synthesizer("chain", smoothing=2)


def test_every_synthesizer_declares_its_parameters() -> None:
    for name in list_synthesizers():
        names = synthesizer_class(name).parameter_names()
        assert names is not None, name  # no catch-all **options
        assert set(create_synthesizer(name).get_parameters()) == set(names)


def test_get_parameters_has_defaults_and_given_values() -> None:
    model = create_synthesizer("copula", fit_seed=4)
    assert model.get_parameters() == {"stratify": True, "fit_seed": 4}
    assert model.options == model.get_parameters()  # the older name still reads them


def test_parameters_round_trip_through_a_model_file(tmp_path: Path) -> None:
    for name, params in (("copula", {"stratify": False, "fit_seed": 3}), ("chain", {"bins": 8})):
        model = create_synthesizer(name, **params).fit(_table())
        loaded = synthdata.load_model(model.save(tmp_path / f"{name}.synth"))
        assert loaded.get_parameters() == model.get_parameters()
        pd.testing.assert_frame_equal(loaded.sample(50, seed=2), model.sample(50, seed=2))


def test_older_model_files_with_unused_options_still_load(tmp_path: Path) -> None:
    path = create_synthesizer("copula").fit(_table()).save(tmp_path / "m.synth")
    with zipfile.ZipFile(path) as archive:
        header = json.loads(archive.read("model.json"))
        arrays = archive.read("arrays.npz")
    header["options"] = {"stratfy": False}  # once silently ignored
    older = tmp_path / "older.synth"
    with zipfile.ZipFile(older, "w") as archive:
        archive.writestr("model.json", json.dumps(header))
        archive.writestr("arrays.npz", arrays)
    assert synthdata.load_model(older).get_parameters() == {"stratify": True, "fit_seed": 0}


def test_sdv_adapters_declare_their_options_and_cannot_be_saved() -> None:
    ctgan = create_synthesizer("sdv_ctgan", epochs=1, sdv_options={"pac": 5})
    assert isinstance(ctgan, _SDVSynthesizer)
    assert ctgan.get_parameters()["epochs"] == 1
    assert ctgan.sdv_arguments()["pac"] == 5
    with pytest.raises(InputError, match="epoch"):
        create_synthesizer("sdv_tvae", epoch=1)
    tvae = create_synthesizer("sdv_tvae", sdv_options={"epochs": 2})
    assert isinstance(tvae, _SDVSynthesizer)
    with pytest.raises(InputError, match="as a parameter"):
        tvae.sdv_arguments()
    for name in ("sdv_copula", "sdv_ctgan", "sdv_tvae"):
        assert synthesizer_class(name).supports_save is False
        assert not is_cacheable(name)
    assert synthesizer_class("copula").supports_save and is_cacheable("chain")

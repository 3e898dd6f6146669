"""SDV's single-table synthesizers behind our interface: "sdv_copula", "sdv_ctgan", "sdv_tvae".

They are here for comparison and for users who already rely on SDV; the built-in
engines ("chain", "copula") need neither SDV nor torch. SDV is imported only when a model is
fitted, so registering these names costs nothing and works without the `[sdv]` extra.

Each adapter declares the SDV parameters most often changed (for example ``epochs=10``
for CTGAN/TVAE, ``default_distribution="norm"`` for the copula), with SDV's defaults;
any other parameter of the SDV class goes in ``sdv_options`` (a dict passed to the
class unchanged, e.g. ``sdv_options={"enable_gpu": False}``). An unknown name fails
when the synthesizer is created, not deep inside SDV.

Limits, by design:

- SDV models cannot be saved in our model format (`supports_save` is False). The format
  stores only JSON and numeric arrays (never pickles, which can run code when loaded),
  and an SDV model is a graph of arbitrary Python objects; `to_state` raises a
  `SynthDataError` saying so.
- Sampling is reproducible for a seed (each chunk re-seeds SDV from our generator) but
  not prefix-stable: asking for more rows may change the first ones.
- SDV's metadata keeps the real minimum/maximum and category lists of every column.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import warnings
from types import ModuleType
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from synthdata.engine.base import Synthesizer, register
from synthdata.engine.errors import InputError, MissingDependencyError, SynthDataError
from synthdata.engine.schema import TableSchema
from synthdata.engine.sdv_frames import (
    TABLE_NAME,
    build_metadata_dict,
    from_sdv_frame,
    rebuilt,
    to_sdv_frame,
)

_INSTALL_HINT = "pip install 'inferloop-synthdata[sdv]'"


def _import_sdv() -> ModuleType:
    """Return `sdv.single_table`, or explain how to install it."""
    try:
        return importlib.import_module("sdv.single_table")
    except ImportError as exc:
        raise MissingDependencyError(
            f"the SDV synthesizers need the SDV library ({exc}); install it with: {_INSTALL_HINT}"
        ) from None


def _sdv_major() -> int:
    return int(importlib.metadata.version("sdv").split(".")[0])


class _SDVSynthesizer(Synthesizer):
    """Common adapter: fit the named SDV class on our schema, sample with our seeds."""

    sdv_class: ClassVar[str]
    supports_save = False

    def __init__(self, **parameters: Any) -> None:
        super().__init__(**parameters)
        self._model: Any = None

    def sdv_arguments(self) -> dict[str, Any]:
        """The keyword arguments for the SDV class: declared parameters plus `sdv_options`."""
        arguments = {k: v for k, v in self.options.items() if k != "sdv_options"}
        extra = dict(self.options.get("sdv_options") or {})
        clash = sorted(set(extra) & set(arguments))
        if clash:
            raise InputError(
                f"{self.name}: give {', '.join(clash)} as a parameter, not in sdv_options"
            )
        arguments.update(extra)
        return arguments

    def _fit(self, data: pd.DataFrame, schema: TableSchema) -> None:
        if all(rebuilt(spec) for spec in schema.columns):
            raise InputError("the table has no column SDV could learn (all constant or empty)")
        single_table = _import_sdv()
        from sdv.metadata import Metadata

        metadata = Metadata.load_from_dict(build_metadata_dict(schema))
        try:
            model = getattr(single_table, self.sdv_class)(metadata, **self.sdv_arguments())
        except TypeError as exc:
            raise InputError(f"{self.name}: unsupported option in sdv_options ({exc})") from None
        with warnings.catch_warnings():
            # SDV warns about its own defaults (e.g. GPU, metadata versions); not actionable.
            warnings.simplefilter("ignore")
            frame = to_sdv_frame(data, schema)
            # SDV 2 takes {table name: frame} even for one table; SDV 1 took the frame.
            model.fit({TABLE_NAME: frame} if _sdv_major() >= 2 else frame)
        self._model = model

    def _sample_chunk(self, num_rows: int, rng: np.random.Generator, block: int) -> pd.DataFrame:
        schema = self._require_fitted()
        model = self._model
        if model is None:  # fitted flag set but the SDV model is missing (e.g. failed fit)
            raise SynthDataError(f"the {self.name} synthesizer holds no SDV model")
        seed = int(rng.integers(0, 2**31 - 1))
        _reseed(model, seed)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = model.sample(num_rows)
        # SDV 2 returns {table name: frame}; SDV 1 returned the frame itself.
        frame = next(iter(result.values())) if isinstance(result, dict) else result
        return from_sdv_frame(frame, schema, rng)

    def to_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        raise SynthDataError(
            f"the {self.name} synthesizer cannot be saved: SDV models are arbitrary Python "
            "objects and our model format stores only JSON and numeric arrays (no pickle); "
            "use the default 'copula' synthesizer to save models, or SDV's own save()"
        )

    def load_state(self, params: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        raise SynthDataError(f"the {self.name} synthesizer cannot be loaded from a model file")


def _reseed(model: Any, seed: int) -> None:
    """Make the next `sample` depend only on `seed` (SDV keeps its own generators)."""
    model.reset_sampling()
    # The model (copula or neural network) draws from its own numpy/torch generators...
    model._set_random_state(seed)
    # ...and each RDT transformer from another, which reset_sampling fixes to a constant;
    # without this every chunk would get the same nulls and the same rounding noise.
    hyper = getattr(getattr(model, "_data_processor", None), "_hyper_transformer", None)
    transformers = getattr(hyper, "field_transformers", {}) or {}
    for offset, transformer in enumerate(transformers.values(), start=1):
        if transformer is not None and hasattr(transformer, "set_random_state"):
            state = np.random.RandomState((seed + 7919 * offset) % (2**32 - 1))
            transformer.set_random_state(state, "reverse_transform")


@register
class SDVGaussianCopulaSynthesizer(_SDVSynthesizer):
    """SDV's GaussianCopulaSynthesizer (needs the `[sdv]` extra)."""

    name = "sdv_copula"
    sdv_class = "GaussianCopulaSynthesizer"

    def __init__(
        self,
        *,
        enforce_min_max_values: bool = True,
        enforce_rounding: bool = True,
        default_distribution: str | None = None,
        numerical_distributions: dict[str, str] | None = None,
        sdv_options: dict[str, Any] | None = None,
    ) -> None:
        """SDV's parameters of the same names (None: SDV's default); `sdv_options`: others."""
        super().__init__(
            enforce_min_max_values=enforce_min_max_values,
            enforce_rounding=enforce_rounding,
            default_distribution=default_distribution,
            numerical_distributions=numerical_distributions,
            sdv_options=sdv_options,
        )


@register
class SDVCTGANSynthesizer(_SDVSynthesizer):
    """SDV's CTGANSynthesizer, a GAN (needs the `[sdv]` extra; slow without a GPU)."""

    name = "sdv_ctgan"
    sdv_class = "CTGANSynthesizer"

    def __init__(
        self,
        *,
        epochs: int = 300,
        batch_size: int = 500,
        enforce_min_max_values: bool = True,
        enforce_rounding: bool = True,
        verbose: bool = False,
        sdv_options: dict[str, Any] | None = None,
    ) -> None:
        """SDV's parameters of the same names and defaults; `sdv_options`: any other
        (e.g. ``{"enable_gpu": False, "pac": 5}``)."""
        super().__init__(
            epochs=epochs,
            batch_size=batch_size,
            enforce_min_max_values=enforce_min_max_values,
            enforce_rounding=enforce_rounding,
            verbose=verbose,
            sdv_options=sdv_options,
        )


@register
class SDVTVAESynthesizer(_SDVSynthesizer):
    """SDV's TVAESynthesizer, a variational autoencoder (needs the `[sdv]` extra)."""

    name = "sdv_tvae"
    sdv_class = "TVAESynthesizer"

    def __init__(
        self,
        *,
        epochs: int = 300,
        batch_size: int = 500,
        enforce_min_max_values: bool = True,
        enforce_rounding: bool = True,
        verbose: bool = False,
        sdv_options: dict[str, Any] | None = None,
    ) -> None:
        """SDV's parameters of the same names and defaults; `sdv_options`: any other
        (e.g. ``{"enable_gpu": False, "loss_factor": 3}``)."""
        super().__init__(
            epochs=epochs,
            batch_size=batch_size,
            enforce_min_max_values=enforce_min_max_values,
            enforce_rounding=enforce_rounding,
            verbose=verbose,
            sdv_options=sdv_options,
        )

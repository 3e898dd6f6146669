"""SDV's single-table synthesizers behind our interface: "sdv_copula", "sdv_ctgan", "sdv_tvae".

They are here for comparison and for users who already rely on SDV; the default
"copula" engine needs neither SDV nor torch. SDV is imported only when a model is
fitted, so registering these names costs nothing and works without the `[sdv]` extra.

Options (for example ``epochs=10`` for CTGAN/TVAE, ``default_distribution="norm"`` for
the copula) are passed to the SDV class unchanged.

Limits, by design:

- SDV models cannot be saved in our model format. The format stores only JSON and
  numeric arrays (never pickles, which can run code when loaded), and an SDV model is a
  graph of arbitrary Python objects; `to_state` raises a `SynthDataError` saying so.
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
from synthdata.engine.schema import ColumnKind, ColumnSpec, TableSchema

TABLE_NAME = "table"
_INSTALL_HINT = "pip install 'inferloop-synthdata[sdv]'"
# Columns SDV would learn nothing from; we rebuild them ourselves after sampling.
_REBUILT = (ColumnKind.CONSTANT, ColumnKind.EMPTY)


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


def build_metadata_dict(schema: TableSchema) -> dict[str, Any]:
    """Describe the modelled columns of `schema` in SDV's metadata dictionary form."""
    columns: dict[str, dict[str, Any]] = {}
    primary_key: str | None = None
    for spec in schema.columns:
        if spec.kind in _REBUILT:
            continue
        columns[spec.name] = _sdtype(spec)
        if spec.kind == ColumnKind.IDENTIFIER and primary_key is None and spec.null_rate == 0:
            primary_key = spec.name
    table: dict[str, Any] = {"columns": columns}
    if primary_key is not None:
        table["primary_key"] = primary_key
    return {"METADATA_SPEC_VERSION": "V1", "tables": {TABLE_NAME: table}, "relationships": []}


def _sdtype(spec: ColumnSpec) -> dict[str, Any]:
    kind = spec.kind
    if kind == ColumnKind.IDENTIFIER:
        if spec.identifier_format == "int":
            return {"sdtype": "id"}
        # SDV makes text keys from a regular expression; keep our key's visible shape.
        if spec.identifier_format and spec.identifier_format.startswith("prefix:"):
            _, prefix, width = spec.identifier_format.split(":", 2)
            return {"sdtype": "id", "regex_format": f"{_escape(prefix)}[0-9]{{{width}}}"}
        return {
            "sdtype": "id",
            "regex_format": "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
        }
    if kind == ColumnKind.CATEGORICAL:
        return {"sdtype": "categorical"}
    if kind == ColumnKind.BOOLEAN:
        return {"sdtype": "boolean"}
    if kind == ColumnKind.DATETIME:
        return {"sdtype": "datetime"}
    # Integer-ness is learnt by SDV's rounding from the data (SDV 2 ignores representations).
    return {"sdtype": "numerical"}


def _escape(text: str) -> str:
    return "".join(f"\\{ch}" if ch in r".^$*+?{}[]\|()" else ch for ch in text)


def _to_sdv_frame(data: pd.DataFrame, schema: TableSchema) -> pd.DataFrame:
    """The columns SDV models, in forms it accepts (naive date-times, real booleans)."""
    out: dict[str, pd.Series] = {}
    for spec in schema.columns:
        if spec.kind in _REBUILT:
            continue
        series = data[spec.name]
        if spec.kind == ColumnKind.DATETIME:
            series = _as_naive_utc(series, spec)
        elif spec.kind == ColumnKind.BOOLEAN and not pd.api.types.is_bool_dtype(series.dtype):
            lowered = series.astype("string").str.strip().str.lower()
            series = lowered.map({"true": True, "false": False, "1": True, "0": False})
            series = series.astype("object")
        elif spec.kind in (ColumnKind.INTEGER, ColumnKind.CONTINUOUS):
            series = pd.to_numeric(series, errors="coerce").astype("float64")
        elif spec.kind == ColumnKind.CATEGORICAL:
            series = series.astype("object")
        out[spec.name] = series
    return pd.DataFrame(out, index=data.index)


def _as_naive_utc(series: pd.Series, spec: ColumnSpec) -> pd.Series:
    # SDV models naive date-times only; aware ones are modelled in UTC and re-localised.
    stamps = pd.to_datetime(series, errors="coerce", utc=spec.timezone is not None)
    if getattr(stamps.dt, "tz", None) is not None:
        stamps = stamps.dt.tz_convert("UTC").dt.tz_localize(None)
    return stamps.astype("datetime64[ns]")


def _from_sdv_frame(sampled: pd.DataFrame, schema: TableSchema) -> pd.DataFrame:
    """Give SDV's output the real table's forms: dtypes, units, timezones, rebuilt columns."""
    n = len(sampled)
    out: dict[str, Any] = {}
    for spec in schema.columns:
        if spec.kind == ColumnKind.EMPTY:
            out[spec.name] = pd.Series([None] * n, dtype="object")
        elif spec.kind == ColumnKind.CONSTANT:
            out[spec.name] = pd.Series([spec.constant_value] * n)
        else:
            out[spec.name] = _restore_column(sampled[spec.name].reset_index(drop=True), spec)
    return pd.DataFrame(out)


def _restore_column(series: pd.Series, spec: ColumnSpec) -> pd.Series:
    kind = spec.kind
    if kind == ColumnKind.DATETIME:
        stamps = pd.to_datetime(series, errors="coerce").astype("datetime64[ns]")
        if spec.datetime_unit and spec.datetime_unit != "ns":
            stamps = stamps.dt.floor(spec.datetime_unit)
        if spec.timezone is not None:
            stamps = stamps.dt.tz_localize("UTC").dt.tz_convert(spec.timezone)
        return stamps
    if kind == ColumnKind.INTEGER:
        numbers = pd.to_numeric(series, errors="coerce").round()
        if "float" in spec.source_dtype:  # whole numbers with nulls, as read from a CSV
            return numbers.astype("float64")
        return numbers.astype("Int64" if numbers.isna().any() else "int64")
    if kind == ColumnKind.CONTINUOUS:
        numbers = pd.to_numeric(series, errors="coerce").astype("float64")
        return numbers.round(spec.decimals) if spec.decimals is not None else numbers
    if kind == ColumnKind.BOOLEAN:
        if series.isna().any():
            return series.astype("boolean")
        return series.astype(bool)
    return series


class _SDVSynthesizer(Synthesizer):
    """Common adapter: fit the named SDV class on our schema, sample with our seeds."""

    sdv_class: ClassVar[str]

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self._model: Any = None

    def _fit(self, data: pd.DataFrame, schema: TableSchema) -> None:
        if all(spec.kind in _REBUILT for spec in schema.columns):
            raise InputError("the table has no column SDV could learn (all constant or empty)")
        single_table = _import_sdv()
        from sdv.metadata import Metadata

        metadata = Metadata.load_from_dict(build_metadata_dict(schema))
        try:
            model = getattr(single_table, self.sdv_class)(metadata, **self.options)
        except TypeError as exc:
            raise InputError(f"{self.name}: unsupported option ({exc})") from None
        with warnings.catch_warnings():
            # SDV warns about its own defaults (e.g. GPU, metadata versions); not actionable.
            warnings.simplefilter("ignore")
            frame = _to_sdv_frame(data, schema)
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
        return _from_sdv_frame(frame, schema)

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


@register
class SDVCTGANSynthesizer(_SDVSynthesizer):
    """SDV's CTGANSynthesizer, a GAN (needs the `[sdv]` extra; slow without a GPU)."""

    name = "sdv_ctgan"
    sdv_class = "CTGANSynthesizer"


@register
class SDVTVAESynthesizer(_SDVSynthesizer):
    """SDV's TVAESynthesizer, a variational autoencoder (needs the `[sdv]` extra)."""

    name = "sdv_tvae"
    sdv_class = "TVAESynthesizer"

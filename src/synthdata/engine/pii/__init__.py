"""Personal data: find the columns (and text spans) that hold it, replace it with fakes.

The rule set (`detect`, `validators`) finds e-mail addresses, phone numbers, person
names, street addresses, US social security numbers, card numbers, IP addresses and
free text holding any of them. A replaced column is either made at sample time from
its shapes (`columns`) or has its values swapped for fakes before fitting (`protect`);
either way a model file holds no real value of it. See docs/privacy.md, "PII".

Names are imported on first use: `kinds` alone (for the command line's help) needs
neither pandas nor the validators' libraries.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "DEFAULT_LOCALE": "synthdata.engine.pii.kinds",
    "KEEP": "synthdata.engine.pii.kinds",
    "PiiKind": "synthdata.engine.pii.kinds",
    "parse_treatment": "synthdata.engine.pii.kinds",
    "detect_column": "synthdata.engine.pii.detect",
    "find_spans": "synthdata.engine.pii.text",
    "replace_spans": "synthdata.engine.pii.text",
    "pii_column": "synthdata.engine.pii.columns",
    "settle": "synthdata.engine.pii.columns",
    "treatment": "synthdata.engine.pii.columns",
    "Pseudonymiser": "synthdata.engine.pii.protect",
    "pseudonymise": "synthdata.engine.pii.protect",
}


def __getattr__(name: str) -> object:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'synthdata.engine.pii' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


__all__ = sorted(_EXPORTS)

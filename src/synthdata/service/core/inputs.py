"""Request input types that accept exactly what the OpenAPI document describes.

Pydantic's lax mode coerces: `true` becomes the integer 1, `"100"` becomes 100, and a
bare number in a date-time parameter is read as seconds since 1970 (`until=0.5` is
1970-01-01). Request bodies derive from `RequestModel` (strict: a JSON type must be the
schema's type); date-time parameters use `IsoDateTime`.

JSON has one number type (RFC 8259) and JSON Schema's `integer` is any number without
a fraction, so `1e3` and `1000.0` are the integer 1000: `Integer` takes them, and
refuses `1000.5`, `true` and `"1000"`.
"""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Strict,
    WithJsonSchema,
    field_validator,
)
from pydantic_core import PydanticCustomError

from synthdata.service.core.nul_guard import NUL_MESSAGE, holds_nul

_BARE_NUMBER = re.compile(r"\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*")


class RequestModel(BaseModel):
    """A request body: unknown fields refused, and no type coercion (`"1"` is no integer).

    Fields whose JSON form is text (enums, date-times, decimals) opt out per field with
    `Strict(False)` or one of the types below.
    """

    model_config = ConfigDict(extra="forbid", strict=True)

    @field_validator("*")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        # PostgreSQL cannot store NUL in text: refused here, by field, not a 500 later.
        if holds_nul(value):
            raise PydanticCustomError("nul_character", NUL_MESSAGE)
        return value


def iso_8601_text(value: Any) -> Any:
    """Let through a date-time or its ISO 8601 text; refuse numbers (read as Unix time)."""
    if value is None or isinstance(value, datetime):
        return value
    if not isinstance(value, str) or _BARE_NUMBER.fullmatch(value):
        raise PydanticCustomError(
            "iso_8601_datetime",
            "Input should be an ISO 8601 date-time such as 2026-01-31T00:00:00Z, not a number",
        )
    return value


IsoDateTime = Annotated[AwareDatetime, Strict(False), BeforeValidator(iso_8601_text)]
"""An ISO 8601 date-time with a time zone (`Z` or `+01:00`); numbers are refused."""


def _integral_number(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value  # the strict integer check refuses the rest (bool, str, 0.5)


INTEGRAL = BeforeValidator(_integral_number)
Integer = Annotated[int, INTEGRAL]
"""A body integer: a JSON number without a fraction (`1000`, `1e3`); never `true` or text.

Bounds of an optional one go before `INTEGRAL` (`Annotated[int, Field(ge=0), INTEGRAL]`):
after it, the schema would show them as `ge`/`le` instead of `minimum`/`maximum`."""

# 0 to 1,000,000 with up to 6 places: the range a price may take, in the schema too.
PRICE_TEXT_PATTERN = r"^(1000000(\.0{1,6})?|[0-9]{1,6}(\.[0-9]{1,6})?)$"


def _decimal_text(value: Any) -> Any:
    if isinstance(value, Decimal):
        return value
    if isinstance(value, str) and re.fullmatch(PRICE_TEXT_PATTERN, value):
        return Decimal(value)
    raise PydanticCustomError(
        "decimal_text",
        'Input should be a decimal number as a string with up to 6 places, e.g. "0.50"',
    )


PriceText = Annotated[
    Decimal,
    Strict(False),
    BeforeValidator(_decimal_text),
    WithJsonSchema({"type": "string", "pattern": PRICE_TEXT_PATTERN, "examples": ["0.50"]}),
]
"""Money as JSON text (`"0.50"`): a JSON number would pass through a binary float."""

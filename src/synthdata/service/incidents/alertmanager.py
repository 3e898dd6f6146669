"""Alertmanager's webhook payload (version 4), as the intake accepts it.

Field names are Alertmanager's own (camelCase), so the model reads as its
documentation does. Unknown fields are ignored: Alertmanager may add some.
Alertmanager sends the zero time `0001-01-01T00:00:00Z` for "no end yet"; it is
read as None. NUL characters (which PostgreSQL cannot store in text) are refused.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    Strict,
    field_validator,
    model_validator,
)

from synthdata.service.core.inputs import Integer, iso_8601_text

_EPOCH_YEAR = 1970

# RFC 3339 text, as Alertmanager sends it; a number is refused, not read as Unix time.
Timestamp = Annotated[datetime | None, Strict(False), BeforeValidator(iso_8601_text)]


def _unset_is_none(value: datetime | None) -> datetime | None:
    if value is None or value.year < _EPOCH_YEAR:
        return None
    if value.tzinfo is None:
        raise ValueError("timestamps must carry a time zone")
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError("timestamp out of range") from None


def _no_nul(value: Any) -> Any:
    """Refuse NUL anywhere in the raw document (keys and values alike)."""
    if isinstance(value, str) and "\x00" in value:
        raise ValueError("text must not contain NUL characters")
    if isinstance(value, dict):
        for key, item in value.items():
            _no_nul(key)
            _no_nul(item)
    elif isinstance(value, list):
        for item in value:
            _no_nul(item)
    return value


class WebhookAlert(BaseModel):
    """One alert of a notification."""

    model_config = ConfigDict(extra="ignore", strict=True)

    status: Literal["firing", "resolved"]
    labels: dict[str, str]
    annotations: dict[str, str] = Field(default_factory=dict)
    startsAt: Timestamp = None
    endsAt: Timestamp = None
    generatorURL: str = ""
    fingerprint: str = Field(min_length=1, max_length=64)

    _times = field_validator("startsAt", "endsAt")(_unset_is_none)

    @property
    def alertname(self) -> str:
        return self.labels.get("alertname", "")


class AlertmanagerWebhook(BaseModel):
    """One notification of one alert group."""

    model_config = ConfigDict(extra="ignore", strict=True)

    version: Literal["4"]
    groupKey: str = Field(min_length=1, max_length=500)
    truncatedAlerts: Integer = Field(default=0, ge=0)
    status: Literal["firing", "resolved"]
    receiver: str = ""
    groupLabels: dict[str, str] = Field(default_factory=dict)
    commonLabels: dict[str, str] = Field(default_factory=dict)
    commonAnnotations: dict[str, str] = Field(default_factory=dict)
    externalURL: str = ""
    alerts: list[WebhookAlert] = Field(min_length=1, max_length=1000)

    @model_validator(mode="before")
    @classmethod
    def _refuse_nul(cls, data: Any) -> Any:
        return _no_nul(data)

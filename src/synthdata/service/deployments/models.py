"""The deployments table: one row per process start (API or worker)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from synthdata.service.core.db import Base, UTCDateTime, utcnow


class Deployment(Base):
    """A process of the platform started: which one, which version, which configuration.

    `config_digest` is a hash of the non-secret settings, so two starts with the same
    digest ran the same configuration; a changed digest is a configuration change.
    """

    __tablename__ = "deployments"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    component: Mapped[str] = mapped_column(String(40))
    version: Mapped[str] = mapped_column(String(40))
    config_digest: Mapped[str] = mapped_column(String(64))
    host: Mapped[str] = mapped_column(String(200), default="")
    pid: Mapped[int] = mapped_column(default=0)

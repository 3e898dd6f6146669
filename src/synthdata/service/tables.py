"""Imports every table so `Base.metadata` is complete (for Alembic and tests)."""

from synthdata.jobs.models import Job, JobChunk
from synthdata.service.admin.models import AuditEntry, Flag
from synthdata.service.core.db import Base
from synthdata.service.customers.models import ApiKey, Customer
from synthdata.service.datasets.models import Dataset
from synthdata.service.deployments.models import Deployment
from synthdata.service.incidents.models import Incident, IncidentAlert, IncidentEvent
from synthdata.service.models.models import SynthModel
from synthdata.service.usage.models import Charge

metadata = Base.metadata

__all__ = [
    "ApiKey",
    "AuditEntry",
    "Charge",
    "Customer",
    "Dataset",
    "Deployment",
    "Flag",
    "Incident",
    "IncidentAlert",
    "IncidentEvent",
    "Job",
    "JobChunk",
    "SynthModel",
    "metadata",
]

"""Removing what a job wrote once it has ended without success.

A failed or cancelled job keeps nothing in the artifact store: its parts, the model
fitted for it, a half-written result, and for a training job the model file (and the
process drops its local copies of them). Every process that
notices the end removes them (the API right after a cancel, a worker when its task
stops on a lost lease or a failure), because a worker may still be writing a part
when the API cancels; removal is idempotent. What slips past (a crash between the
write and the removal) is left to the orphan sweep (`jobs/orphans.py`).
"""

from __future__ import annotations

import logging

from sqlalchemy.orm import Session, sessionmaker

from synthdata.jobs.models import Job, JobKind, JobState
from synthdata.service.core.db import session_scope
from synthdata.service.core.storage import Storage
from synthdata.service.models.models import ModelState, SynthModel

log = logging.getLogger("synthdata.jobs")

ENDED_WITHOUT_RESULT = (JobState.FAILED.value, JobState.CANCELLED.value)


def discard_if_ended(session: Session, storage: Storage, job_id: str) -> bool:
    """Remove the objects of `job_id` if it failed or was cancelled; True if it had."""
    job = session.get(Job, job_id)
    if job is None or job.state not in ENDED_WITHOUT_RESULT:
        return False
    storage.remove_tree(storage.job_dir(job.customer_id, job.id))
    if job.kind == JobKind.TRAIN.value and job.model_id:
        model = session.get(SynthModel, job.model_id)
        # A model that became ready belongs to a later, successful run; keep it.
        if model is None or model.state != ModelState.READY.value:
            storage.remove_tree(storage.model_dir(job.customer_id, job.model_id))
    return True


def discard_quietly(sessions: sessionmaker[Session], storage: Storage, job_id: str) -> None:
    """`discard_if_ended` for a worker's task epilogue: a failure here only logs (the
    orphan sweep removes the files later), so it never hides the task's own outcome."""
    try:
        with session_scope(sessions) as session:
            discard_if_ended(session, storage, job_id)
    except Exception:
        log.warning(
            "job %s: could not remove its files; the orphan sweep will", job_id, exc_info=True
        )

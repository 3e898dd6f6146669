"""Preparing a job: fit its model (or train one), then plan and send its chunks."""

from __future__ import annotations

import logging
from pathlib import Path

from sqlalchemy import update
from sqlalchemy.orm import Session

from synthdata.engine.errors import SynthDataError
from synthdata.engine.table_scan import TableSource
from synthdata.jobs import leases, model_cache, signals, telemetry
from synthdata.jobs.chunking import plan_chunks
from synthdata.jobs.leases import Heartbeat, LeaseLost
from synthdata.jobs.models import Job, JobChunk, JobKind
from synthdata.jobs.runner_base import RunnerBase, UserFacingError
from synthdata.jobs.training import fit_limits, fit_to_file
from synthdata.jobs.transitions import (
    finish,
)
from synthdata.service.core.db import utcnow
from synthdata.service.models.models import ModelState, SynthModel
from synthdata.service.usage.service import record_charge

log = logging.getLogger("synthdata.jobs")


class PrepareSteps(RunnerBase):
    """The prepare message: a training job ends here; a generation job gets its chunks."""

    # -- prepare ------------------------------------------------------------------------
    @telemetry.phase("prepare")
    def prepare(self, job_id: str) -> None:
        """Fit the model if the job needs one, then plan and send the chunks."""
        lease = self.settings.job_lease_seconds
        token = self._tx(lambda s: leases.claim_job(s, job_id, lease, phase="prepare"))
        if token is None:
            return
        try:
            with self._job_heartbeat(job_id, token) as beat:
                job = self._tx(lambda s: s.get_one(Job, job_id))
                if job.kind == JobKind.TRAIN.value:
                    self._train(job, token, beat)
                    return
                signals.generation_started(job)
                if job.scale is not None:  # linked tables: fitted and sampled as one unit
                    self._generate_tables(job, token, beat)
                    return
                self._ensure_model(job)
                beat.check()
            self._plan(job, token)
        except LeaseLost:
            log.info("job %s: lease lost while preparing", job_id)
        except (SynthDataError, UserFacingError) as exc:
            self.fail(job_id, str(exc))
        except Exception:
            log.exception("job %s: prepare failed", job_id)
            self._retry_job(job_id, token)
        finally:
            self._discard_if_ended(job_id)

    def _train(self, job: Job, token: str, beat: Heartbeat) -> None:
        model = self._tx(lambda s: s.get(SynthModel, job.model_id) if job.model_id else None)
        if model is None:
            raise UserFacingError("the model was deleted before it was trained")
        target = self.storage.model_file(job.customer_id, model.id)
        scratch = self.storage.scratch("model.synth")
        try:
            fitted = fit_to_file(
                self._dataset_source(job),
                scratch,
                job.synthesizer,
                job.constraints,
                fit_limits(self.settings),
            )
            size = self.storage.publish(scratch, target)
        finally:
            scratch.unlink(missing_ok=True)
        beat.check()

        def record(session: Session) -> None:
            if not finish(session, job.id, token):
                raise LeaseLost()
            session.execute(
                update(SynthModel)
                .where(SynthModel.id == model.id)
                .values(
                    state=ModelState.READY.value,
                    path=target,
                    size_bytes=size,
                    fitted_rows=fitted.fitted_rows,
                    schema_json=fitted.schema.to_dict() if fitted.schema else None,
                    ready_at=utcnow(),
                )
            )

        self._tx(record)

    def _generate_tables(self, job: Job, token: str, beat: Heartbeat) -> None:
        """Write the zip of synthetic tables and record the success and its one charge."""
        from synthdata.jobs.tables import generate_tables_file
        from synthdata.service.datasets.bundles import BUNDLE_FORMAT
        from synthdata.service.datasets.models import Dataset

        dataset = self._tx(lambda s: s.get(Dataset, job.dataset_id) if job.dataset_id else None)
        if dataset is None:
            raise UserFacingError("the dataset of this job was deleted")
        assert job.scale is not None
        # The bundle stays one object (result.zip): written here, then published.
        target = self.storage.result_file(job.customer_id, job.id, BUNDLE_FORMAT)
        scratch = self.storage.scratch(f"result.{BUNDLE_FORMAT}")
        try:
            rows = generate_tables_file(
                self._fetch_dataset(dataset.path),
                scratch,
                metadata=(dataset.schema_json or {}).get("metadata"),
                scale=job.scale,
                seed=job.seed,
                fmt=job.format,
            )
            size = self.storage.publish(scratch, target)
        finally:
            scratch.unlink(missing_ok=True)
        beat.check()

        def record(session: Session) -> signals.Outcome:
            if not finish(session, job.id, token):
                raise LeaseLost()
            done = session.get_one(Job, job.id)
            # Usage and metrics count the rows written over all tables, as the charge does.
            done.rows = done.rows_done = rows
            done.chunks_total = done.chunks_done = 1
            done.result_path, done.result_bytes = target, size
            return signals.outcome(session, done, record_charge(session, done), size)

        signals.generation_succeeded(job, self._tx(record))

    def _dataset_key(self, job: Job) -> tuple[str, str]:
        """The stored key and format of the job's dataset."""
        from synthdata.service.datasets.models import Dataset

        dataset = self._tx(lambda s: s.get(Dataset, job.dataset_id) if job.dataset_id else None)
        if dataset is None:
            raise UserFacingError("the dataset of this job was deleted")
        return dataset.path, dataset.format

    def _dataset_file(self, job: Job) -> str:
        return str(self._fetch_dataset(self._dataset_key(job)[0]))

    def _dataset_source(self, job: Job) -> Path | TableSource:
        """The job's dataset, read where it is stored (no local copy on S3)."""
        key, fmt = self._dataset_key(job)
        if fmt not in ("csv", "parquet"):  # linked tables' zip: from a file
            return self._fetch_dataset(key)
        try:
            return self.storage.table_source(key)
        except FileNotFoundError:
            raise UserFacingError("the stored file of this job's dataset was not found") from None

    def _fetch_dataset(self, key: str) -> Path:
        """The dataset's file to read here (downloaded once into work_dir from S3)."""
        try:
            return self.storage.fetch(key)
        except FileNotFoundError:  # ObjectNotFound too; its text names the store
            raise UserFacingError("the stored file of this job's dataset was not found") from None

    def _ensure_model(self, job: Job) -> None:
        """Check the job's model is ready, or fit one on its dataset (once)."""
        if job.model_id:
            model = self._tx(lambda s: s.get(SynthModel, job.model_id))
            if model is None or model.path is None or model.state != ModelState.READY.value:
                raise UserFacingError("the model of this job was deleted or is not ready")
            return
        target = self.storage.job_model_file(job.customer_id, job.id)
        if self.storage.exists(target):  # an earlier attempt may have fitted it already
            return
        cache = self._tx(lambda s: model_cache.open_cache(s, self.settings))
        source = self._dataset_file(job)
        scratch = self.storage.scratch("model.synth")
        try:
            model_cache.fit_with_cache(
                cache,
                job.dataset_id or "",
                source,
                scratch,
                job.synthesizer,
                job.constraints,
                fit_limits(self.settings),
            )
            self.storage.publish(scratch, target)
        finally:
            scratch.unlink(missing_ok=True)

    def _plan(self, job: Job, token: str) -> None:
        plans = plan_chunks(job.rows, self.settings.job_chunk_rows)

        def record(session: Session) -> bool:
            result = session.execute(
                update(Job)
                .where(Job.id == job.id, Job.claim_token == token, Job.state == "running")
                .values(
                    chunks_total=len(plans), lease_until=None, claim_token=None, result_path=None
                )
            )
            if result.rowcount != 1:  # type: ignore[attr-defined]
                return False
            now = utcnow()
            session.add_all(
                JobChunk(
                    job_id=job.id,
                    index=p.index,
                    start_row=p.start_row,
                    rows=p.rows,
                    enqueued_at=now,
                )
                for p in plans
            )
            return True

        if not self._tx(record):
            raise LeaseLost()
        for plan in plans:
            self.queue.send_chunk(job.id, plan.index)

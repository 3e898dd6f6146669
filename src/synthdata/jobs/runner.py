"""Executing job messages: prepare (fit, plan chunks), run a chunk, finalize.

Each step claims its row with a lease, works while a heartbeat renews it, and
records its outcome only if it still holds the lease. Effects are idempotent:
files go to deterministic paths atomically, and the charge is unique per job.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from synthdata.engine.conditions import conditions_from_json
from synthdata.engine.errors import SynthDataError
from synthdata.engine.io import write_frames
from synthdata.engine.table_scan import TableSource
from synthdata.jobs import leases, model_cache, signals, telemetry
from synthdata.jobs.chunking import plan_chunks
from synthdata.jobs.leases import Heartbeat, LeaseLost
from synthdata.jobs.leftovers import discard_quietly
from synthdata.jobs.manifest import (
    Manifest,
    PartsMissing,
    check_parts,
    file_digest,
    manifest_of,
    write_manifest,
)
from synthdata.jobs.models import Job, JobChunk, JobKind
from synthdata.jobs.queue import JobQueue
from synthdata.jobs.training import fit_limits, fit_to_file
from synthdata.jobs.transitions import (
    ChunkCompletion,
    complete_chunk,
    finish,
    mark_failed,
    release_job,
)
from synthdata.service.core.db import session_scope, utcnow
from synthdata.service.core.settings import Settings
from synthdata.service.core.storage import Storage
from synthdata.service.models.models import ModelState, SynthModel
from synthdata.service.usage.service import record_charge

log = logging.getLogger("synthdata.jobs")
T = TypeVar("T")


class UserFacingError(Exception):
    """A failure the customer can act on; its message becomes the job's error."""


@dataclass(frozen=True)
class _ChunkWork:
    chunk_id: int
    synthesizer: str
    customer_id: str
    model_file: str
    seed: int
    fmt: str
    start_row: int
    rows: int
    conditions: dict[str, Any] | None = None


class JobRunner:
    """Runs the three kinds of job message against the database and the storage."""

    def __init__(
        self,
        settings: Settings,
        sessions: sessionmaker[Session],
        storage: Storage,
        queue: JobQueue,
    ) -> None:
        self.settings = settings
        self.sessions = sessions
        self.storage = storage
        self.queue = queue
        self.worker = socket.gethostname()

    def _tx(self, fn: Callable[[Session], T]) -> T:
        with session_scope(self.sessions) as session:
            return fn(session)

    def _job_heartbeat(self, job_id: str, token: str) -> Heartbeat:
        seconds = self.settings.job_lease_seconds
        return Heartbeat(
            lambda: self._tx(lambda s: leases.renew_job(s, job_id, token, seconds)),
            self.settings.job_heartbeat_seconds,
        )

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

    def _dataset_file(self, job: Job) -> str:
        from synthdata.service.datasets.models import Dataset

        dataset = self._tx(lambda s: s.get(Dataset, job.dataset_id) if job.dataset_id else None)
        if dataset is None:
            raise UserFacingError("the dataset of this job was deleted")
        return str(self._fetch_dataset(dataset.path))

    def _dataset_source(self, job: Job) -> Path | TableSource:
        """The job's dataset, read where it is stored (no local copy on S3)."""
        from synthdata.service.datasets.models import Dataset

        dataset = self._tx(lambda s: s.get(Dataset, job.dataset_id) if job.dataset_id else None)
        if dataset is None:
            raise UserFacingError("the dataset of this job was deleted")
        if dataset.format not in ("csv", "parquet"):  # linked tables' zip: from a file
            return self._fetch_dataset(dataset.path)
        try:
            return self.storage.table_source(dataset.path)
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

    # -- chunks -------------------------------------------------------------------------
    @telemetry.phase("chunk")
    def run_chunk(self, job_id: str, index: int, claimed: str | None = None) -> None:
        """Write rows [start_row, start_row + rows) to the chunk's part file.

        `claimed`: the token of a lease the caller already holds (the queue's fair
        claim, `jobs/fairness.py`); without it the chunk is claimed here.
        """
        lease = self.settings.job_lease_seconds
        token = claimed or self._tx(lambda s: leases.claim_chunk(s, job_id, index, lease))
        if token is None:
            return
        done: str | None = None
        try:
            work = self._tx(lambda s: self._chunk_work(s, job_id, index))
            done = self._write_chunk(job_id, index, token, work)
        except LeaseLost:
            log.info("job %s chunk %d: lease lost", job_id, index)
        except (SynthDataError, UserFacingError) as exc:
            self.fail(job_id, str(exc))
        except Exception:
            log.exception("job %s chunk %d failed", job_id, index)
            self._retry_chunk(job_id, index, token)
        if done is not None:
            self._finalize_claimed(job_id, done)
        else:
            # The part may have been written after a cancel or failure removed the rest.
            self._discard_if_ended(job_id)

    def _chunk_work(self, session: Session, job_id: str, index: int) -> _ChunkWork:
        job = session.get_one(Job, job_id)
        chunk = session.scalars(
            select(JobChunk).where(JobChunk.job_id == job_id, JobChunk.index == index)
        ).one()
        if job.model_id:
            model = session.get(SynthModel, job.model_id)
            if model is None or model.path is None:
                raise UserFacingError("the model of this job was deleted")
            model_file = model.path
        else:
            model_file = self.storage.job_model_file(job.customer_id, job.id)
        return _ChunkWork(
            chunk.id,
            job.synthesizer,
            job.customer_id,
            model_file,
            job.seed,
            job.format,
            chunk.start_row,
            chunk.rows,
            conditions_from_json(job.conditions),
        )

    @telemetry.step("job.sample")
    def _write_chunk(self, job_id: str, index: int, token: str, work: _ChunkWork) -> str | None:
        from synthdata import load_model

        seconds = self.settings.job_lease_seconds
        done = [0]

        def renew(session: Session) -> bool:
            return leases.renew_chunk(session, work.chunk_id, job_id, token, seconds, done[0])

        beat = Heartbeat(lambda: self._tx(renew), self.settings.job_heartbeat_seconds)
        key = self.storage.part_file(work.customer_id, job_id, index, work.fmt)
        # Written in this process's own work_dir, then uploaded whole to the part's key:
        # a retried chunk overwrites its part with the same bytes (seeded per row).
        local = self.storage.scratch(key.rsplit("/", 1)[-1])
        try:
            with beat:
                model = load_model(self.storage.fetch(work.model_file))

                def progress(rows_done: int, _total: int) -> None:
                    done[0] = rows_done
                    beat.check()

                frames = model.iter_chunks(
                    work.rows,
                    seed=work.seed,
                    start_row=work.start_row,
                    progress=progress,
                    conditions=work.conditions,
                )
                write_frames(frames, local, fmt=work.fmt)
                size, sha256 = file_digest(local)
                beat.check()
                self.storage.publish(local, key)
        finally:
            local.unlink(missing_ok=True)

        def record(session: Session) -> ChunkCompletion:
            # Recorded only by the lease holder, in the transaction that completes it.
            session.execute(
                update(JobChunk)
                .where(JobChunk.id == work.chunk_id, JobChunk.claim_token == token)
                .values(part_bytes=size, part_sha256=sha256)
            )
            return complete_chunk(session, job_id, work.chunk_id, work.rows, token, seconds)

        completion = self._tx(record)
        if completion.done:  # counted once committed: the progress GenerationQueueStalled reads
            signals.chunk_completed(work.synthesizer)
        return completion.finalize_token

    # -- finalize -----------------------------------------------------------------------
    @telemetry.phase("finalize")
    def finalize(self, job_id: str) -> None:
        """Write the manifest of the parts, record success and the charge (re-sent by the
        reaper)."""
        lease = self.settings.job_lease_seconds
        token = self._tx(lambda s: leases.claim_job(s, job_id, lease, phase="finalize"))
        if token is not None:
            self._finalize_claimed(job_id, token)

    def _finalize_claimed(self, job_id: str, token: str) -> None:
        try:
            with self._job_heartbeat(job_id, token) as beat:
                job = self._tx(lambda s: s.get_one(Job, job_id))
                key = self.storage.manifest_file(job.customer_id, job_id)
                manifest = self._manifest(job)
                beat.check()
                write_manifest(self.storage.store, key, manifest)  # last: it names the result
                size = manifest.total_bytes

                def record(session: Session) -> signals.Outcome:
                    if not finish(session, job_id, token):
                        raise LeaseLost()
                    session.execute(
                        update(Job)
                        .where(Job.id == job_id)
                        .values(result_path=key, result_bytes=size, rows_done=job.rows)
                    )
                    return signals.outcome(session, job, record_charge(session, job), size)

                signals.generation_succeeded(job, self._tx(record))
        except LeaseLost:
            log.info("job %s: lease lost while finalizing", job_id)
            self._discard_if_ended(job_id)
            return
        except UserFacingError as exc:
            self.fail(job_id, str(exc))
            return
        except Exception:
            log.exception("job %s: finalize failed", job_id)
            self._retry_job(job_id, token, finalize=True)
            return
        self.storage.remove_file(self.storage.job_model_file(job.customer_id, job_id))

    def _manifest(self, job: Job) -> Manifest:
        """The manifest of the job's parts, each checked to be stored as recorded."""
        query = select(JobChunk).where(JobChunk.job_id == job.id).order_by(JobChunk.index)
        chunks = self._tx(lambda s: list(s.scalars(query)))
        folder = self.storage.job_dir(job.customer_id, job.id)
        keys = [
            self.storage.part_file(job.customer_id, job.id, c.index, job.format)[len(folder) + 1 :]
            for c in chunks
        ]
        try:
            manifest = manifest_of(job, chunks, keys, utcnow().isoformat())
            check_parts(self.storage.store, folder, manifest)
        except PartsMissing as exc:
            log.warning("job %s: %s", job.id, exc)
            raise UserFacingError("the generated parts were lost; please resubmit") from None
        return manifest

    # -- failures -----------------------------------------------------------------------
    def fail(self, job_id: str, message: str) -> None:
        """Mark an active job failed (and its model, for a training job); drop its files."""
        log.info("job %s failed: %s", job_id, message)

        def record(session: Session) -> tuple[str, str] | None:
            if not mark_failed(session, job_id, message):
                return None
            job = session.get_one(Job, job_id)
            return job.kind, job.synthesizer

        failed = self._tx(record)
        if failed is not None:  # counted once committed, like a success
            signals.generation_failed(*failed)
        self._discard_if_ended(job_id)

    def _discard_if_ended(self, job_id: str) -> None:
        """Remove the job's files if it failed or was cancelled (see jobs/leftovers.py)."""
        discard_quietly(self.sessions, self.storage, job_id)

    def _retry_job(self, job_id: str, token: str, *, finalize: bool = False) -> None:
        job = self._tx(lambda s: s.get_one(Job, job_id))
        if job.attempts >= self.settings.job_max_attempts:
            self.fail(job_id, "internal error; the job failed after several attempts")
            return
        released = self._tx(lambda s: release_job(s, job_id, token))
        if released:
            delay = min(60.0, 2.0**job.attempts)
            send = self.queue.send_finalize if finalize else self.queue.send_prepare
            send(job_id, delay)

    def _retry_chunk(self, job_id: str, index: int, token: str) -> None:
        def release(session: Session) -> int | None:
            chunk = session.scalars(
                select(JobChunk).where(JobChunk.job_id == job_id, JobChunk.index == index)
            ).one()
            if chunk.claim_token != token:
                return None
            if chunk.attempts >= self.settings.job_max_attempts:
                return -1
            chunk.state, chunk.lease_until, chunk.claim_token = "queued", None, None
            chunk.enqueued_at = utcnow()
            return chunk.attempts

        attempts = self._tx(release)
        if attempts == -1:
            self.fail(job_id, f"internal error; chunk {index} failed after several attempts")
        elif attempts is not None:
            self.queue.send_chunk(job_id, index, min(60.0, 2.0**attempts))

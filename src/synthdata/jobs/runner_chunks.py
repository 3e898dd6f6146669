"""Running a chunk (rows to one part file) and finalizing a job (its manifest)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from synthdata.engine.conditions import conditions_from_json
from synthdata.engine.errors import SynthDataError
from synthdata.engine.io import write_frames
from synthdata.jobs import leases, signals, telemetry
from synthdata.jobs.leases import Heartbeat, LeaseLost
from synthdata.jobs.manifest import (
    Manifest,
    PartsMissing,
    check_parts,
    file_digest,
    manifest_of,
    write_manifest,
)
from synthdata.jobs.models import Job, JobChunk
from synthdata.jobs.runner_base import RunnerBase, UserFacingError
from synthdata.jobs.transitions import (
    ChunkCompletion,
    complete_chunk,
    finish,
)
from synthdata.service.core.db import utcnow
from synthdata.service.models.models import SynthModel
from synthdata.service.usage.service import record_charge

log = logging.getLogger("synthdata.jobs")


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


class ChunkSteps(RunnerBase):
    """The chunk and finalize messages."""

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

"""Trained models: train (a job, 202), list, get, delete."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response, status
from sqlalchemy import select

from synthdata.jobs import telemetry
from synthdata.jobs.models import ACTIVE_STATES, Job, JobKind
from synthdata.service.core.db import utcnow
from synthdata.service.core.middleware import request_id_of
from synthdata.service.core.pagination import Page, paginate
from synthdata.service.core.problems import PROBLEM_RESPONSES, Problem, not_found
from synthdata.service.datasets.bundles import is_bundle_dataset
from synthdata.service.datasets.models import Dataset
from synthdata.service.deps import (
    Cursor,
    CustomerFilter,
    Limit,
    PlatformDep,
    PrincipalDep,
    SessionDep,
    acting_customer,
    list_scope,
    owned,
    scoped,
)
from synthdata.service.jobs import service as jobs
from synthdata.service.models.models import ModelCreate, ModelOut, SynthModel

router = APIRouter(prefix="/models", tags=["models"], responses=PROBLEM_RESPONSES)


@router.post("", response_model=ModelOut, status_code=status.HTTP_202_ACCEPTED)
def train_model(
    body: ModelCreate,
    request: Request,
    platform: PlatformDep,
    principal: PrincipalDep,
    session: SessionDep,
    customer_id: CustomerFilter = None,
) -> ModelOut:
    """Train a model on a dataset, as a job (`job_id`); the model is usable once `ready`."""
    owner = acting_customer(principal, customer_id)
    jobs.ensure_breaker_closed(session, platform.settings)
    dataset = session.get(Dataset, body.dataset_id)
    if dataset is None or dataset.customer_id != owner:
        raise not_found("dataset", body.dataset_id)
    if is_bundle_dataset(dataset.format):
        raise Problem(
            422,
            "a dataset of linked tables is not trained into a model: start a job on it "
            "(POST /jobs with its dataset_id and scale)",
            kind="invalid-input",
        )
    jobs.check_synthesizer(body.synthesizer)
    if body.constraints:
        jobs.check_constraints(body.constraints, dataset.schema_json)
    model = SynthModel(
        customer_id=owner,
        dataset_id=dataset.id,
        name=body.name or dataset.name,
        synthesizer=body.synthesizer,
    )
    session.add(model)
    session.flush()
    job = Job(
        customer_id=owner,
        kind=JobKind.TRAIN.value,
        dataset_id=dataset.id,
        model_id=model.id,
        rows=0,
        synthesizer=body.synthesizer,
        seed=0,
        constraints=body.constraints or None,
        enqueued_at=utcnow(),
        **telemetry.origin(request_id_of(request)),
    )
    session.add(job)
    session.commit()
    jobs.send_prepare(platform.queue, job.id, platform.queue_circuit)
    return ModelOut.of(model, job.id)


def _training_job(session: SessionDep, model_id: str) -> str | None:
    return session.scalars(
        select(Job.id)
        .where(Job.model_id == model_id, Job.kind == JobKind.TRAIN.value)
        .order_by(Job.id.desc())
    ).first()


@router.get("", response_model=Page[ModelOut])
def list_models(
    principal: PrincipalDep,
    session: SessionDep,
    customer_id: CustomerFilter = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[ModelOut]:
    """Models, newest first (admins: everyone's, or one customer's)."""
    query = scoped(select(SynthModel), SynthModel, list_scope(principal, customer_id))
    return paginate(session, query, SynthModel.id, limit=limit, cursor=cursor, render=ModelOut.of)


@router.get("/{model_id}", response_model=ModelOut)
def get_model(model_id: str, principal: PrincipalDep, session: SessionDep) -> ModelOut:
    """One model, with the id of the job that trains it."""
    model = owned(session, SynthModel, model_id, principal, "model")
    return ModelOut.of(model, _training_job(session, model.id))


@router.delete("/{model_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_model(
    model_id: str, platform: PlatformDep, principal: PrincipalDep, session: SessionDep
) -> Response:
    """Delete a model (cancelling its training if still running) and its file."""
    model = owned(session, SynthModel, model_id, principal, "model")
    training = session.scalars(
        select(Job).where(Job.model_id == model.id, Job.state.in_(ACTIVE_STATES))
    ).all()
    for job in training:
        jobs.cancel_job(session, job)
    folder = platform.storage.model_dir(model.customer_id, model.id)
    session.delete(model)
    session.commit()
    platform.storage.remove_tree(folder)
    return Response(status_code=status.HTTP_204_NO_CONTENT)

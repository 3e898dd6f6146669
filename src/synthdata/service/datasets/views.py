"""Datasets: upload (multipart, streamed to disk), list, get, delete."""

from __future__ import annotations

import os
from typing import Any

from fastapi import APIRouter, Request, Response, status
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import select

from synthdata.engine.errors import InputError
from synthdata.engine.io import detect_format
from synthdata.service.core.db import new_id
from synthdata.service.core.pagination import Page, paginate
from synthdata.service.core.problems import PROBLEM_RESPONSES
from synthdata.service.datasets.models import Dataset, DatasetOut
from synthdata.service.datasets.service import inspect_table
from synthdata.service.datasets.upload import FILE_FIELD, receive_upload
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

router = APIRouter(prefix="/datasets", tags=["datasets"], responses=PROBLEM_RESPONSES)

_UPLOAD_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": [FILE_FIELD],
                    "properties": {
                        FILE_FIELD: {"type": "string", "format": "binary"},
                        "name": {"type": "string", "maxLength": 200},
                    },
                }
            }
        },
    }
}


@router.post(
    "",
    response_model=DatasetOut,
    status_code=status.HTTP_201_CREATED,
    openapi_extra=_UPLOAD_BODY,
)
async def upload_dataset(
    request: Request,
    platform: PlatformDep,
    principal: PrincipalDep,
    session: SessionDep,
    customer_id: CustomerFilter = None,
) -> DatasetOut:
    """Upload a CSV or Parquet table (form field `file`); returns its inferred schema."""
    owner = acting_customer(principal, customer_id)
    dataset_id = new_id("ds")
    storage = platform.storage
    folder = storage.dataset_file(owner, dataset_id, "csv").parent
    incoming = folder / "upload.part"
    try:
        upload = await receive_upload(request, incoming, platform.settings.max_upload_bytes)
        fmt = detect_format(incoming.with_name(upload.filename))
        if upload.size == 0:
            raise InputError("the uploaded file is empty")
        final = storage.dataset_file(owner, dataset_id, fmt)
        os.replace(incoming, final)
        rows, schema = await run_in_threadpool(inspect_table, final, fmt, name=upload.filename)
    except BaseException:
        storage.remove_tree(folder)
        raise
    dataset = Dataset(
        id=dataset_id,
        customer_id=owner,
        name=(upload.fields.get("name") or upload.filename)[:200],
        filename=upload.filename,
        format=fmt,
        path=storage.relative(final),
        size_bytes=upload.size,
        rows=rows,
        columns=len(schema.columns),
        schema_json=schema.to_dict(),
    )

    def save() -> None:
        session.add(dataset)
        session.commit()

    await run_in_threadpool(save)
    return DatasetOut.of(dataset)


@router.get("", response_model=Page[DatasetOut])
def list_datasets(
    principal: PrincipalDep,
    session: SessionDep,
    customer_id: CustomerFilter = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[DatasetOut]:
    """The caller's datasets (admins: everyone's, or one customer's), newest first."""
    query = scoped(select(Dataset), Dataset, list_scope(principal, customer_id))
    return paginate(session, query, Dataset.id, limit=limit, cursor=cursor, render=DatasetOut.of)


@router.get("/{dataset_id}", response_model=DatasetOut)
def get_dataset(dataset_id: str, principal: PrincipalDep, session: SessionDep) -> DatasetOut:
    """One dataset with its schema."""
    return DatasetOut.of(owned(session, Dataset, dataset_id, principal, "dataset"))


@router.delete("/{dataset_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_dataset(
    dataset_id: str, platform: PlatformDep, principal: PrincipalDep, session: SessionDep
) -> Response:
    """Delete a dataset and its file (models trained on it are kept)."""
    dataset = owned(session, Dataset, dataset_id, principal, "dataset")
    folder = platform.storage.absolute(dataset.path).parent
    session.delete(dataset)
    session.commit()
    platform.storage.remove_tree(folder)
    return Response(status_code=status.HTTP_204_NO_CONTENT)

"""Datasets: upload (multipart, streamed to disk), list, get, delete."""

from __future__ import annotations

import errno
import functools
import os
from collections.abc import Callable
from typing import Any, TypeVar

from fastapi import APIRouter, Request, Response, status
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import select
from sqlalchemy.orm import defer

from synthdata.engine.errors import InputError
from synthdata.engine.io import detect_format
from synthdata.service.core.db import new_id
from synthdata.service.core.offload import shared_offload
from synthdata.service.core.pagination import Page, paginate
from synthdata.service.core.problems import MEDIA_TYPE, PROBLEM_RESPONSES, Problem, ProblemDoc
from synthdata.service.core.settings import Settings
from synthdata.service.customers.models import Customer
from synthdata.service.datasets.bundles import BUNDLE_FORMAT, inspect_bundle, is_bundle_upload
from synthdata.service.datasets.limits import limits_for
from synthdata.service.datasets.models import Dataset, DatasetOut, DatasetSummary
from synthdata.service.datasets.service import inspect_table
from synthdata.service.datasets.upload import FILE_FIELD, MAX_PARTS, receive_upload
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

R = TypeVar("R")

# The errors of a write onto a full disk (or over a quota): 507, not a 500.
_DISK_FULL = (errno.ENOSPC, errno.EDQUOT)

_MAX_NAME = 200
_UPLOAD_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": [FILE_FIELD],
                    # Other text parts are read and ignored (whatever their name), up to
                    # the parts limit.
                    "maxProperties": MAX_PARTS,
                    "propertyNames": {},
                    "additionalProperties": {"type": "string", "pattern": "^[^\\x00]*$"},
                    "properties": {
                        FILE_FIELD: {"type": "string", "format": "binary"},
                        # Longer names are refused, not cut; NUL is refused (upload.py).
                        "name": {
                            "type": "string",
                            "maxLength": _MAX_NAME,
                            "pattern": "^[^\\x00]*$",
                        },
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
    responses={
        415: {"model": ProblemDoc, "content": {MEDIA_TYPE: {}}, "description": "Not multipart"},
        507: {"model": ProblemDoc, "content": {MEDIA_TYPE: {}}, "description": "Disk full"},
    },
)
async def upload_dataset(
    request: Request,
    platform: PlatformDep,
    principal: PrincipalDep,
    session: SessionDep,
    customer_id: CustomerFilter = None,
) -> Response:
    """Upload a CSV or Parquet table (form field `file`); returns its inferred schema.

    A .zip of CSV/Parquet files is a dataset of linked tables (one per file): its
    schema holds each table's columns and the detected keys (`metadata`)."""
    owner = acting_customer(principal, customer_id)
    dataset_id = new_id("ds")
    storage = platform.storage
    folder = storage.dataset_file(owner, dataset_id, "csv").parent
    incoming = folder / "upload.part"
    try:
        upload = await receive_upload(request, incoming, platform.settings.max_upload_bytes)
        name = upload.fields.get("name", "")
        if len(name) > _MAX_NAME:  # as the schema says: refused, not cut short
            raise Problem(422, f"name: at most {_MAX_NAME} characters", kind="validation-error")
        bundle = is_bundle_upload(upload.filename)
        fmt = BUNDLE_FORMAT if bundle else detect_format(incoming.with_name(upload.filename))
        if upload.size == 0:
            raise InputError("the uploaded file is empty")
        final = storage.dataset_file(owner, dataset_id, fmt)
        os.replace(incoming, final)
        settings = platform.settings
        limits = limits_for(settings, await run_in_threadpool(_plan_of, session, owner))
        if bundle:
            rows, columns, schema_doc = await _offloaded(
                settings, inspect_bundle, final, name=upload.filename, limits=limits
            )
        else:
            rows, schema = await _offloaded(
                settings,
                inspect_table,
                final,
                fmt,
                name=upload.filename,
                max_columns=limits.columns,
                max_rows=limits.rows,
            )
            columns, schema_doc = len(schema.columns), schema.to_dict()
    except BaseException as exc:
        storage.remove_tree(folder)
        if isinstance(exc, OSError) and exc.errno in _DISK_FULL:
            raise Problem(
                507,
                "no room left to store the upload; nothing was kept, try again later",
                kind="insufficient-storage",
            ) from None
        raise
    dataset = Dataset(
        id=dataset_id,
        customer_id=owner,
        name=name or upload.filename[:200],
        filename=upload.filename,
        format=fmt,
        path=storage.relative(final),
        size_bytes=upload.size,
        rows=rows,
        columns=columns,
        schema_json=schema_doc,
    )

    def save() -> None:
        session.add(dataset)
        session.commit()

    try:
        await run_in_threadpool(save)
    except Exception:  # not a cancellation: the thread may have committed
        # No row points to the file, so nothing could ever delete it: remove it now.
        storage.remove_tree(folder)
        raise
    # The schema can be large (thousands of columns): encode it off the event loop.
    body = await run_in_threadpool(_encode, dataset)
    return Response(body, status_code=status.HTTP_201_CREATED, media_type="application/json")


@router.get("", response_model=Page[DatasetSummary])
def list_datasets(
    principal: PrincipalDep,
    session: SessionDep,
    customer_id: CustomerFilter = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[DatasetSummary]:
    """The caller's datasets (admins: everyone's, or one customer's), newest first."""
    query = scoped(select(Dataset), Dataset, list_scope(principal, customer_id))
    query = query.options(defer(Dataset.schema_json))  # lists leave the schema out
    return paginate(
        session, query, Dataset.id, limit=limit, cursor=cursor, render=DatasetSummary.model_validate
    )


@router.get("/{dataset_id}", response_model=DatasetOut)
def get_dataset(dataset_id: str, principal: PrincipalDep, session: SessionDep) -> Response:
    """One dataset with its schema."""
    dataset = owned(session, Dataset, dataset_id, principal, "dataset")
    return Response(_encode(dataset), media_type="application/json")  # encoded in this thread


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


async def _offloaded(settings: Settings, fn: Callable[..., R], *args: Any, **options: Any) -> R:
    """`fn(*args, **options)` on a stored upload (its rows and schema), away from the
    event loop.

    In a helper process by default (service/core/offload.py): parsing is CPU under
    the GIL, and on a thread here it would slow every other request.
    """
    if settings.offload_cpu_work:
        offload = shared_offload(settings.offload_nice)
        return await offload.run(fn, *args, **options)
    return await run_in_threadpool(functools.partial(fn, *args, **options))


def _plan_of(session: Any, customer_id: str) -> str | None:
    customer = session.get(Customer, customer_id)
    return customer.plan if customer is not None else None


def _encode(dataset: Dataset) -> bytes:
    return DatasetOut.of(dataset).model_dump_json(by_alias=True).encode()

"""Datasets: upload (multipart, streamed into the artifact store), list, get, delete."""

from __future__ import annotations

import errno
import functools
import logging
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any, BinaryIO, TypeVar

import anyio
from fastapi import APIRouter, Request, Response, status
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import select
from sqlalchemy.orm import defer

from synthdata.artifacts import StoreError, store_config
from synthdata.engine.errors import InputError
from synthdata.engine.io import detect_format
from synthdata.service.core.db import new_id
from synthdata.service.core.offload import shared_offload
from synthdata.service.core.pagination import Page, paginate
from synthdata.service.core.problems import MEDIA_TYPE, PROBLEM_RESPONSES, Problem, ProblemDoc
from synthdata.service.core.settings import Settings
from synthdata.service.core.storage import Storage
from synthdata.service.customers.models import Customer
from synthdata.service.datasets.bundles import (
    BUNDLE_FORMAT,
    inspect_bundle,
    is_bundle_dataset,
    is_bundle_upload,
)
from synthdata.service.datasets.limits import limits_for
from synthdata.service.datasets.models import Dataset, DatasetOut, DatasetSummary
from synthdata.service.datasets.service import inspect_table
from synthdata.service.datasets.stored import inspect_stored
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

log = logging.getLogger("synthdata.service")

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
        503: {
            "model": ProblemDoc,
            "content": {MEDIA_TYPE: {}},
            "description": "The artifact store failed",
        },
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
    settings = platform.settings
    folder = storage.dataset_dir(owner, dataset_id)
    stored: list[tuple[str, str]] = []  # (format, key), once the file part begins

    def open_target(filename: str) -> AbstractContextManager[BinaryIO]:
        # The format comes from the file's name, known before its first byte: the
        # bytes go straight to their final key, with no rename (a copy on S3).
        fmt = BUNDLE_FORMAT if is_bundle_upload(filename) else detect_format(Path(filename))
        key = storage.dataset_file(owner, dataset_id, fmt)
        stored.append((fmt, key))
        return storage.store.open_write(key)

    try:
        upload = await receive_upload(request, open_target, settings.max_upload_bytes)
        name = upload.fields.get("name", "")
        if len(name) > _MAX_NAME:  # as the schema says: refused, not cut short
            raise Problem(422, f"name: at most {_MAX_NAME} characters", kind="validation-error")
        if upload.size == 0:
            raise InputError("the uploaded file is empty")
        fmt, key = stored[0]
        limits = limits_for(settings, await run_in_threadpool(_plan_of, session, owner))
        where = (store_config(settings), settings.work_dir, key)
        if is_bundle_dataset(fmt):
            rows, columns, schema_doc = await _offloaded(
                settings,
                inspect_stored,
                *where,
                inspect_bundle,
                name=upload.filename,
                limits=limits,
            )
        else:
            rows, schema = await _offloaded(
                settings,
                inspect_stored,
                *where,
                inspect_table,
                fmt,
                name=upload.filename,
                max_columns=limits.columns,
                max_rows=limits.rows,
            )
            columns, schema_doc = len(schema.columns), schema.to_dict()
    except BaseException as exc:
        await _discard(storage, folder)
        if _disk_full(exc):
            raise Problem(
                507,
                "no room left to store the upload; nothing was kept, try again later",
                kind="insufficient-storage",
            ) from None
        if isinstance(exc, StoreError):
            log.warning("upload %s not stored: %s", dataset_id, exc)
            raise Problem(
                503,
                "the artifact store failed to take the upload; nothing was kept, try again later",
                kind="store-unavailable",
            ) from None
        raise
    dataset = Dataset(
        id=dataset_id,
        customer_id=owner,
        name=name or upload.filename[:200],
        filename=upload.filename,
        format=fmt,
        path=key,
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
        await _discard(storage, folder)
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
    folder = platform.storage.dataset_dir(dataset.customer_id, dataset.id)
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


async def _discard(storage: Storage, folder: str) -> None:
    """Delete what an upload stored. Shielded: on a client's disconnect (a cancellation)
    the object must go too. A store that fails here only logs: the request's own error
    is the answer, and the orphan sweep removes the object later."""
    with anyio.CancelScope(shield=True):
        try:
            await run_in_threadpool(storage.remove_tree, folder)
        except StoreError as exc:
            log.warning("upload folder %s not removed (the orphan sweep will): %s", folder, exc)


def _disk_full(exc: BaseException) -> bool:
    """A write onto a full disk, raised as is or wrapped by the store (`StoreError`)."""
    cause = exc.__cause__ if isinstance(exc, StoreError) else exc
    return isinstance(cause, OSError) and cause.errno in _DISK_FULL


def _plan_of(session: Any, customer_id: str) -> str | None:
    customer = session.get(Customer, customer_id)
    return customer.plan if customer is not None else None


def _encode(dataset: Dataset) -> bytes:
    return DatasetOut.of(dataset).model_dump_json(by_alias=True).encode()

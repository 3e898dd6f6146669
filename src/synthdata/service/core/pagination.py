"""Cursor pagination over time-ordered ids, newest first."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Generic, TypeVar

from pydantic import BaseModel
from sqlalchemy import Select
from sqlalchemy.orm import Session

Out = TypeVar("Out", bound=BaseModel)


class Page(BaseModel, Generic[Out]):
    """One page of a list; pass `next_cursor` as `cursor` to get the next one."""

    items: list[Out]
    next_cursor: str | None


def paginate(
    session: Session,
    query: Select[Any],
    id_column: Any,
    *,
    limit: int,
    cursor: str | None,
    render: Callable[[Any], Out],
) -> Page[Out]:
    """Run `query` newest first from after `cursor`, and render one page."""
    rows: Sequence[Any] = session.scalars(page_query(query, id_column, limit, cursor)).all()
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = str(getattr(rows[-1], id_column.key)) if more and rows else None
    return Page[Any](items=[render(row) for row in rows], next_cursor=next_cursor)


def page_query(query: Select[Any], id_column: Any, limit: int, cursor: str | None) -> Select[Any]:
    """`query` restricted to one page (one row more than `limit`, to see if more follow)."""
    if cursor:
        query = query.where(id_column < cursor)
    return query.order_by(id_column.desc()).limit(limit + 1)

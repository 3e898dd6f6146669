"""A small, safe rule language for constraints that have no dedicated type.

    age >= 18 or segment != 'minor'
    `end date` - `start date` <= 90 * 86400        (backticks: names with spaces;
                                                    date-time differences in seconds)
    discount <= 0.5 * price and channel in ('web', 'store')
    isnull(cancelled_at) or cancelled_at >= created_at

Rules are parsed with Python's own parser into a syntax tree, and only the
nodes listed here are accepted: column names, numbers, text, True/False/None,
arithmetic, comparisons, `and`/`or`/`not`, `in` over a literal list, and the
functions `abs`, `isnull`, `notnull`. Nothing is ever passed to `eval`, so a
rule cannot call code, read attributes or import anything. Evaluation works on
whole columns at once (pandas), so a rule costs a few vector operations per
chunk of rows.
"""

from __future__ import annotations

import ast
import operator
import re
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from synthdata.engine.errors import InputError

_BACKTICK = re.compile(r"`([^`]*)`")
MAX_CHARS = 2_000  # a rule longer than this is refused before it is parsed
MAX_NODES = 500  # nor may it have more pieces than this (bounds parse and evaluation)
_ARITHMETIC: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.Mod: operator.mod,
}
_COMPARE: dict[type[ast.cmpop], Callable[[Any, Any], Any]] = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
}
_FUNCTIONS = ("abs", "isnull", "notnull")

Columns = Callable[[str], pd.Series]
"""Gives a column by name, in comparable form (numbers, date-times or text)."""


class Rule:
    """One parsed rule: the columns it names and a vectorised evaluation."""

    def __init__(self, text: str) -> None:
        self.text = text
        names: dict[str, str] = {}

        def hold(match: re.Match[str]) -> str:
            alias = f"__column_{len(names)}"
            names[alias] = match.group(1)
            return alias

        if len(text) > MAX_CHARS:
            raise InputError(f"rule {text[:40]!r}... is longer than {MAX_CHARS:,} characters")
        source = _BACKTICK.sub(hold, text)
        try:
            tree = ast.parse(source.strip(), mode="eval")
        except SyntaxError as exc:
            raise InputError(f"rule {text!r} cannot be read: {exc.msg}") from None
        except (RecursionError, MemoryError, ValueError):
            raise InputError(f"rule {text[:40]!r}... is nested too deeply to read") from None
        if sum(1 for _ in ast.walk(tree)) > MAX_NODES:
            raise InputError(f"rule {text[:40]!r}... has more than {MAX_NODES} pieces")
        self._aliases = names
        self._tree = tree.body
        self._null_checked: set[str] = set()  # named inside isnull/notnull: nulls decide
        self.columns = sorted(self._check(self._tree))

    def evaluate(self, column: Columns, rows: int) -> np.ndarray:
        """Per row: whether the rule holds (a row with a null in a named column holds)."""
        result = self._eval(self._tree, column)
        if not isinstance(result, pd.Series):
            value = bool(result)
            return np.full(rows, value)
        holds = result.fillna(False).astype(bool).to_numpy()
        for name in self.columns:
            if name in self._null_checked:
                continue
            holds |= column(name).isna().to_numpy()
        return holds

    # -- checking -------------------------------------------------------------------------
    def _check(self, node: ast.AST) -> set[str]:
        """The columns named in `node`; refuses any node outside the language."""
        if isinstance(node, ast.Name):
            return {self._aliases.get(node.id, node.id)}
        if isinstance(node, ast.Constant):
            if not isinstance(node.value, int | float | str | bool | type(None)):
                raise self._refuse(node)
            return set()
        if isinstance(node, ast.List | ast.Tuple | ast.Set):
            if not all(isinstance(item, ast.Constant) for item in node.elts):
                raise InputError(f"rule {self.text!r}: a list may hold only values")
            return set()
        if isinstance(node, ast.BoolOp):
            return set().union(*(self._check(v) for v in node.values))
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not | ast.USub | ast.UAdd):
            return self._check(node.operand)
        if isinstance(node, ast.BinOp) and type(node.op) in _ARITHMETIC:
            text = [
                isinstance(s, ast.Constant) and isinstance(s.value, str)
                for s in (node.left, node.right)
            ]
            if any(text) and not isinstance(node.op, ast.Add):
                raise InputError(f"rule {self.text!r}: text can only be joined with +")
            return self._check(node.left) | self._check(node.right)
        if isinstance(node, ast.Compare):
            for op, right in zip(node.ops, node.comparators, strict=True):
                if isinstance(op, ast.In | ast.NotIn):
                    if not isinstance(right, ast.List | ast.Tuple | ast.Set):
                        raise InputError(f"rule {self.text!r}: `in` takes a list of values")
                elif type(op) not in _COMPARE:
                    raise self._refuse(node)
            names = self._check(node.left)
            for right in node.comparators:
                names |= self._check(right)
            return names
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in _FUNCTIONS
            and len(node.args) == 1
            and not node.keywords
        ):
            names = self._check(node.args[0])
            if node.func.id in ("isnull", "notnull"):
                self._null_checked |= names
            return names
        raise self._refuse(node)

    def _refuse(self, node: ast.AST) -> InputError:
        piece = ast.unparse(node) if isinstance(node, ast.expr) else type(node).__name__
        return InputError(
            f"rule {self.text!r}: {piece!r} is not allowed (rules take column names, "
            "values, arithmetic, comparisons, and/or/not, `in` a list, abs, isnull, notnull)"
        )

    # -- evaluating -----------------------------------------------------------------------
    def _eval(self, node: ast.AST, column: Columns) -> Any:
        if isinstance(node, ast.Name):
            return column(self._aliases.get(node.id, node.id))
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.List | ast.Tuple | ast.Set):
            return [item.value for item in node.elts if isinstance(item, ast.Constant)]
        if isinstance(node, ast.BoolOp):
            values = [_truth(self._eval(v, column)) for v in node.values]
            combine = operator.and_ if isinstance(node.op, ast.And) else operator.or_
            result = values[0]
            for value in values[1:]:
                result = combine(result, value)
            return result
        if isinstance(node, ast.UnaryOp):
            value = self._eval(node.operand, column)
            if isinstance(node.op, ast.Not):
                return ~_truth(value) if isinstance(value, pd.Series) else not value
            return -value if isinstance(node.op, ast.USub) else value
        if isinstance(node, ast.BinOp):
            left, right = self._eval(node.left, column), self._eval(node.right, column)
            if not isinstance(node.op, ast.Add) and (_is_text(left) or _is_text(right)):
                raise InputError(f"rule {self.text!r}: text can only be joined with +")
            result = _ARITHMETIC[type(node.op)](left, right)
            if isinstance(result, pd.Series) and pd.api.types.is_timedelta64_dtype(result):
                return result.dt.total_seconds()  # date-time differences count seconds
            return result
        if isinstance(node, ast.Compare):
            return self._compare(node, column)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            value = self._eval(node.args[0], column)
            if node.func.id == "abs":
                return abs(value)
            missing = value.isna() if isinstance(value, pd.Series) else value is None
            return missing if node.func.id == "isnull" else ~missing
        raise self._refuse(node)  # pragma: no cover - _check refused it already

    def _compare(self, node: ast.Compare, column: Columns) -> Any:
        left = self._eval(node.left, column)
        result: Any = True
        for op, right_node in zip(node.ops, node.comparators, strict=True):
            right = self._eval(right_node, column)
            if isinstance(op, ast.In | ast.NotIn):
                found = left.isin(right) if isinstance(left, pd.Series) else left in right
                step = found if isinstance(op, ast.In) else ~found
            else:
                step = _COMPARE[type(op)](left, right)
            result = step if result is True else _truth(result) & _truth(step)
            left = right
        return result


def _is_text(value: Any) -> bool:
    if isinstance(value, pd.Series):
        return value.dtype == object or isinstance(value.dtype, pd.StringDtype)
    return isinstance(value, str)


def _truth(value: Any) -> Any:
    """Booleans for and/or: a Series of booleans (nulls false) or a plain bool."""
    if isinstance(value, pd.Series):
        return value.fillna(False).astype(bool)
    return bool(value)

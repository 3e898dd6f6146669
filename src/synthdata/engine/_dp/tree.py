"""MST's recipe (McKenna, Miklau & Sheldon 2021) over the columns' coarse tokens.

1. Choose a spanning tree of the columns, one edge at a time as Kruskal would, each
   edge by the exponential mechanism (`Ledger.noisy_argmax`) among the pairs that join
   two parts: a pair scores the L1 distance between its real two-way counts and what
   the noisy one-way marginals predict if the two were independent, so the tree holds
   the pairs that independence explains worst (a private stand-in for mutual
   information). One row moves a score by at most 1.
2. Measure the tree's two-way marginals with discrete Gaussian noise.
3. Make the noisy marginals consistent and non-negative: each column's one-way
   estimate is the inverse-variance mean of its own measurement and the sums of its
   pairs, projected onto counts (non-negative, summing to the estimated row count);
   each pair is projected the same way and raked (iterative proportional fitting) to
   its two columns' estimates, so parent and child agree.
4. Sample down the tree: the root from its marginal, each child from its row of
   P(child | parent).

A tree needs no general inference (Private-PGM's `mbi` would find the same
distribution): its consistent marginals define the joint exactly. Everything after
step 2 is post-processing of noisy values, which spends no privacy.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from synthdata.engine._dp.accounting import Ledger

_RAKING_ROUNDS = 50


@dataclass
class Tree:
    """The sampling order and distributions: root first, each column after its parent."""

    order: list[int]  # columns, root first
    parents: list[int]  # the parent of each column in `order` (-1 for the root)
    root: np.ndarray  # P(root token)
    conditionals: list[np.ndarray]  # for order[1:]: P(child token | parent token), by rows


def project(values: np.ndarray, total: float) -> np.ndarray:
    """The closest (Euclidean) non-negative vector summing to `total` (Duchi et al. 2008)."""
    flat = values.ravel().astype(np.float64)
    if total <= 0 or not len(flat):
        return np.full(values.shape, max(total, 0.0) / max(flat.size, 1))
    ordered = np.sort(flat)[::-1]
    excess = np.cumsum(ordered) - total
    ranks = np.arange(1, len(flat) + 1)
    last = np.flatnonzero(ordered - excess / ranks > 0)[-1]
    return np.maximum(flat - excess[last] / (last + 1), 0.0).reshape(values.shape)


def pair_counts(tokens: np.ndarray, i: int, j: int, sizes: list[int]) -> np.ndarray:
    """The real two-way counts of columns i and j."""
    flat = tokens[:, i] * sizes[j] + tokens[:, j]
    return np.bincount(flat, minlength=sizes[i] * sizes[j]).reshape(sizes[i], sizes[j])


def choose_edges(
    tokens: np.ndarray,
    sizes: list[int],
    shares: list[np.ndarray],
    rows: float,
    ledger: Ledger,
    rho: float,
) -> list[tuple[int, int]]:
    """The spanning tree's edges, chosen privately (step 1), spending `rho` in all."""
    d = len(sizes)
    pairs = [(i, j) for i in range(d) for j in range(i + 1, d)]
    scores = np.array(
        [
            np.abs(pair_counts(tokens, i, j, sizes) - rows * np.outer(shares[i], shares[j])).sum()
            for i, j in pairs
        ]
    )
    part = list(range(d))

    def find(x: int) -> int:
        while part[x] != x:
            part[x] = part[part[x]]
            x = part[x]
        return x

    edges: list[tuple[int, int]] = []
    for round_ in range(d - 1):
        open_ = [k for k, (i, j) in enumerate(pairs) if find(i) != find(j)]
        chosen = pairs[
            open_[ledger.noisy_argmax(scores[open_], rho / (d - 1), f"round {round_ + 1}")]
        ]
        edges.append(chosen)
        part[find(chosen[0])] = find(chosen[1])
    return edges


def fit_tree(
    tokens: np.ndarray,
    sizes: list[int],
    one_way: list[tuple[np.ndarray, float]],
    names: list[str],
    ledger: Ledger,
    rho_select: float,
    rho_pairs: float,
) -> Tree:
    """Steps 1-3; `one_way` holds each column's noisy coarse counts and their variance
    per cell."""
    d = len(sizes)
    rows = _rows_estimate(one_way)
    shares = [project(counts, rows) / rows for counts, _ in one_way]
    edges = choose_edges(tokens, sizes, shares, rows, ledger, rho_select) if d > 1 else []
    variance = 1.0 / (2 * rho_pairs / max(len(edges), 1))
    measured = {
        (i, j): ledger.noisy_counts(
            pair_counts(tokens, i, j, sizes),
            rho_pairs / len(edges),
            "two_way",
            f"{names[i]}|{names[j]}",
        )
        for i, j in edges
    }
    # Each column's one-way estimate: its measurement and its pairs' sums, by precision.
    weighted = [counts / var for counts, var in one_way]
    precision = [np.full(len(counts), 1.0 / var) for counts, var in one_way]
    for (i, j), table in measured.items():
        for column, sums, other in ((i, table.sum(axis=1), j), (j, table.sum(axis=0), i)):
            weighted[column] = weighted[column] + sums / (variance * sizes[other])
            precision[column] = precision[column] + 1.0 / (variance * sizes[other])
    margins = [project(w / p, rows) for w, p in zip(weighted, precision, strict=True)]
    return _orient(
        d,
        {
            edge: _rake(table, margins[edge[0]], margins[edge[1]], rows)
            for edge, table in measured.items()
        },
        margins,
        rows,
    )


def _rows_estimate(one_way: list[tuple[np.ndarray, float]]) -> float:
    """The row count: the inverse-variance mean of every one-way marginal's total."""
    totals = np.array([counts.sum() for counts, _ in one_way])
    variances = np.array([var * len(counts) for counts, var in one_way])
    return max(float((totals / variances).sum() / (1.0 / variances).sum()), 1.0)


def _rake(
    table: np.ndarray, row_margin: np.ndarray, column_margin: np.ndarray, rows: float
) -> np.ndarray:
    """A noisy two-way table made non-negative and agreeing with both one-way margins."""
    fitted = project(table, rows) + rows * 1e-6 / table.size  # no zero row blocks raking
    for _ in range(_RAKING_ROUNDS):
        fitted *= (row_margin / np.maximum(fitted.sum(axis=1), 1e-300))[:, None]
        fitted *= (column_margin / np.maximum(fitted.sum(axis=0), 1e-300))[None, :]
    return fitted


def _orient(
    d: int, tables: dict[tuple[int, int], np.ndarray], margins: list[np.ndarray], rows: float
) -> Tree:
    """Root the tree at column 0 and turn each edge into P(child | parent)."""
    neighbours: dict[int, list[int]] = {k: [] for k in range(d)}
    for i, j in tables:
        neighbours[i].append(j)
        neighbours[j].append(i)
    order, parents, conditionals = [0], [-1], []
    for column in order:  # breadth first; `order` grows while it is walked
        for child in neighbours[column]:
            if child in order:
                continue
            table = (
                tables[(column, child)] if (column, child) in tables else tables[(child, column)].T
            )
            totals = table.sum(axis=1, keepdims=True)
            fallback = margins[child] / max(margins[child].sum(), 1e-300)
            conditional = np.where(totals > 0, table / np.maximum(totals, 1e-300), fallback)
            order.append(child)
            parents.append(column)
            conditionals.append(conditional)
    return Tree(order, parents, margins[0] / max(rows, 1e-300), conditionals)


def sample_tree(tree: Tree, uniform: np.ndarray) -> np.ndarray:
    """Tokens of len(uniform) rows (a column per modelled column, in its own place);
    `uniform[:, k]` drives column k."""
    tokens = np.zeros(uniform.shape, dtype=np.int64)
    root = tree.order[0]
    tokens[:, root] = _draw(tree.root, uniform[:, root])
    for column, parent, conditional in zip(
        tree.order[1:], tree.parents[1:], tree.conditionals, strict=True
    ):
        for value in np.unique(tokens[:, parent]):
            rows = np.flatnonzero(tokens[:, parent] == value)
            tokens[rows, column] = _draw(conditional[value], uniform[rows, column])
    return tokens


def _draw(probabilities: np.ndarray, uniform: np.ndarray) -> np.ndarray:
    cumulative = np.cumsum(probabilities)
    cumulative /= cumulative[-1]
    return np.minimum(np.searchsorted(cumulative, uniform, side="right"), len(probabilities) - 1)

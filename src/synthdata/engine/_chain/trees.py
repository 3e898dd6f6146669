"""One column's conditional distribution: a classification tree, kept as plain arrays.

The tree is grown by scikit-learn on the tokens of the column's parents and then
exported to arrays (children, split feature and threshold, and per leaf the sparse
distribution of the column's tokens), so a model file holds numbers only and
sampling needs no scikit-learn object: rows walk down the tree level by level in
NumPy, then each row draws its token from its leaf's distribution.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.tree import DecisionTreeClassifier


@dataclass
class LeafTree:
    """A fitted tree over parent tokens; a tree with no parents is one leaf (the marginal)."""

    parents: np.ndarray  # int32 positions (in the chain order) of the features
    left: np.ndarray  # int32 child per node, -1 at leaves
    right: np.ndarray
    feature: np.ndarray  # int32 index into `parents`, -1 at leaves
    threshold: np.ndarray  # float64: go left when token <= threshold
    leaf_of_node: np.ndarray  # int32 leaf number per node, -1 for inner nodes
    offsets: np.ndarray  # int64: leaf k's tokens are tokens[offsets[k]:offsets[k + 1]]
    tokens: np.ndarray  # int32 tokens with non-zero probability, per leaf
    cumulative: np.ndarray  # float64 cumulative probability within the leaf, ends at 1

    @classmethod
    def fit(
        cls,
        features: np.ndarray,
        target: np.ndarray,
        parents: np.ndarray,
        *,
        min_leaf_rows: int,
        smoothing: float,
        seed: int,
    ) -> LeafTree:
        """Grow a tree predicting `target` from `features` (rows x parents).

        Each leaf's distribution is shrunk towards its parent's (itself shrunk towards
        its own parent), as if `smoothing` rows had been drawn from the parent: a token
        seen in a leaf's few rows is not the only one it can emit, which keeps the
        output from re-assembling the real rows behind small leaves.
        """
        if features.shape[1] == 0 or len(np.unique(target)) == 1:
            return cls._single_leaf(target, parents)
        model = DecisionTreeClassifier(min_samples_leaf=min_leaf_rows, random_state=seed)
        model.fit(features, target)
        tree = model.tree_
        is_leaf = tree.children_left < 0
        leaf_of_node = np.full(tree.node_count, -1, dtype=np.int32)
        leaf_of_node[is_leaf] = np.arange(int(is_leaf.sum()), dtype=np.int32)
        shares = _shrunk_shares(tree, smoothing)
        weights = shares[is_leaf]
        classes = model.classes_.astype(np.int32)
        offsets, tokens, cumulative = _sparse_cumulative(weights, classes)
        return cls(
            parents.astype(np.int32),
            tree.children_left.astype(np.int32),
            tree.children_right.astype(np.int32),
            np.where(is_leaf, -1, tree.feature).astype(np.int32),
            tree.threshold.astype(np.float64),
            leaf_of_node,
            offsets,
            tokens,
            cumulative,
        )

    @classmethod
    def _single_leaf(cls, target: np.ndarray, parents: np.ndarray) -> LeafTree:
        classes, counts = np.unique(target, return_counts=True)
        offsets, tokens, cumulative = _sparse_cumulative(
            counts[None, :].astype(np.float64), classes.astype(np.int32)
        )
        none = np.full(1, -1, dtype=np.int32)
        return cls(
            parents[:0].astype(np.int32),
            none,
            none.copy(),
            none.copy(),
            np.zeros(1),
            np.zeros(1, dtype=np.int32),
            offsets,
            tokens,
            cumulative,
        )

    # -- sampling -------------------------------------------------------------------------
    def leaves(self, features: np.ndarray) -> np.ndarray:
        """The leaf number of every row of `features` (rows x parents)."""
        node = np.zeros(len(features), dtype=np.int32)
        active = np.arange(len(features))
        while active.size:
            at = node[active]
            split = self.feature[at]
            inner = split >= 0
            active, at, split = active[inner], at[inner], split[inner]
            go_left = features[active, split] <= self.threshold[at]
            node[active] = np.where(go_left, self.left[at], self.right[at])
        return self.leaf_of_node[node]

    def sample(self, features: np.ndarray, uniform: np.ndarray) -> np.ndarray:
        """One token per row, drawn from its leaf's distribution with `uniform` in [0, 1)."""
        return self.draw(self.leaves(features), uniform, self.cumulative)

    def draw(self, leaf: np.ndarray, uniform: np.ndarray, cumulative: np.ndarray) -> np.ndarray:
        """One token per row from its leaf, by a per-leaf `cumulative` (this tree's layout)."""
        # Leaf k's cumulative probabilities shifted into (k, k + 1]: one search for all rows.
        shifted = cumulative + np.repeat(
            np.arange(len(self.offsets) - 1, dtype=np.float64), np.diff(self.offsets)
        )
        position = np.searchsorted(shifted, leaf + uniform, side="right")
        position = np.clip(position, self.offsets[leaf], self.offsets[leaf + 1] - 1)
        return self.tokens[position]

    def restrict(self, allowed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Leaf distributions with each token's probability scaled by `allowed[token]`.

        Returns (allowed mass per leaf, cumulative of the renormalised distributions);
        a leaf that allows nothing keeps mass 0 and must not be drawn from.
        """
        starts = self.offsets[:-1]
        previous = np.concatenate([[0.0], self.cumulative[:-1]])
        previous[starts] = 0.0
        scaled = (self.cumulative - previous) * allowed[self.tokens]
        mass = np.add.reduceat(scaled, starts)
        running = np.cumsum(scaled)
        before = np.concatenate([[0.0], running])[starts]
        cumulative = running - np.repeat(before, np.diff(self.offsets))
        cumulative /= np.repeat(np.where(mass > 0, mass, 1.0), np.diff(self.offsets))
        cumulative[self.offsets[1:] - 1] = 1.0
        return mass, cumulative

    # -- saving ---------------------------------------------------------------------------
    _ARRAYS = (
        "parents",
        "left",
        "right",
        "feature",
        "threshold",
        "leaf_of_node",
        "offsets",
        "tokens",
        "cumulative",
    )

    def to_arrays(self, prefix: str) -> dict[str, np.ndarray]:
        return {f"{prefix}{name}": getattr(self, name) for name in self._ARRAYS}

    @classmethod
    def from_arrays(cls, arrays: dict[str, Any], prefix: str) -> LeafTree:
        return cls(*(np.asarray(arrays[f"{prefix}{name}"]) for name in cls._ARRAYS))


def _shrunk_shares(tree: Any, smoothing: float) -> np.ndarray:
    """Token shares per node, each shrunk towards its parent's shrunk shares."""
    # value[node, 0, class]: class weights (or fractions) of the rows in the node.
    raw = tree.value[:, 0, :].astype(np.float64)
    raw /= np.maximum(raw.sum(axis=1, keepdims=True), 1e-300)
    rows = tree.n_node_samples.astype(np.float64)
    shares = raw.copy()
    # Nodes are numbered depth first, so a parent is always smaller than its children.
    for node in range(tree.node_count):
        for child in (tree.children_left[node], tree.children_right[node]):
            if child >= 0:
                shares[child] = (rows[child] * raw[child] + smoothing * shares[node]) / (
                    rows[child] + smoothing
                )
    return shares


def _sparse_cumulative(
    weights: np.ndarray, classes: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per row of `weights` (leaves x classes): the non-zero classes and their cumulative share."""
    totals = weights.sum(axis=1, keepdims=True)
    shares = weights / np.where(totals > 0, totals, 1.0)
    rows, columns = np.nonzero(shares > 0)
    offsets = np.zeros(len(weights) + 1, dtype=np.int64)
    np.add.at(offsets, rows + 1, 1)
    offsets = np.cumsum(offsets)
    kept = shares[rows, columns]
    cumulative = np.cumsum(kept)
    # Restart the running sum at each leaf (the sum of the leaves before it is removed).
    before = np.concatenate([[0.0], cumulative])[offsets[:-1]]
    cumulative -= np.repeat(before, np.diff(offsets))
    cumulative[offsets[1:] - 1] = 1.0
    return offsets, classes[columns], cumulative

"""Hybrid ranking: reciprocal-rank fusion (RRF) of several rankings of the same items.

Each ranking contributes `1 / (k + rank)` (rank from 1) to an item's score; items missing from a ranking get
nothing from it. `k = 60` is the constant of Cormack, Clarke and Büttcher (SIGIR 2009): it damps the top
ranks so that agreement between rankings matters more than one ranking's first place. Scores of different
kinds (BM25, cosine) never need to be made comparable, which is why fusion by rank is robust.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import TypeVar

__all__ = ["RRF_K", "reciprocal_rank_fusion"]

RRF_K = 60

K = TypeVar("K", bound=Hashable)


def reciprocal_rank_fusion(rankings: Sequence[Sequence[K]], *, k: int = RRF_K) -> list[tuple[K, float]]:
    """Items of all `rankings` (each best first) by fused score, best first; ties keep first appearance."""
    scores: dict[K, float] = {}
    for ranking in rankings:
        for rank, item in enumerate(ranking, start=1):
            scores[item] = scores.get(item, 0.0) + 1.0 / (k + rank)
    order = {item: i for i, item in enumerate(scores)}
    return sorted(scores.items(), key=lambda pair: (-pair[1], order[pair[0]]))

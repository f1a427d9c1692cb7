"""Which queries of an evaluation another version (a champion re-scored there) can fairly be compared on: those
whose artist it never trained on. One rule for the promotion decision (:func:`musim.models.promotion.fair_queries`)
and for the model card's tables (:func:`musim.models.card.render_card`), so that the two never disagree.

    >>> fair = unseen_queries(artist_of={7: 7, 8: 8}, mine=set(), theirs={8}, their_test=set())
    >>> fair.queries, fair.left_out
    ([7], {8})
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["FairQueries", "left_out_phrase", "unseen_queries"]


@dataclass(frozen=True)
class FairQueries:
    """The queries of a challenger's evaluation on which another version (its champion) can be compared with it:
    ``queries``, and ``left_out``, the test artists the other version trained on (and the challenger did not)."""

    queries: list[int]
    left_out: set[int]
    artists: int                 # distinct artists of ``queries``
    recorded: bool               # whether the other version's training artists were recorded (else: its test set)

    def left_out_phrase(self) -> str:
        """What the left-out artists are to the other version, for a sentence ("were its training artists")."""
        return left_out_phrase(self.recorded)


def left_out_phrase(recorded: bool) -> str:
    """What the test artists left out of a comparison are to the version that may have trained on them."""
    return ("were its training artists" if recorded else "may have been its training artists (they are not "
            "recorded: only its own test artists are known to be unseen)")


def unseen_queries(*, artist_of: Mapping[int, int], mine: set[int], theirs: set[int] | None,
                   their_test: set[int]) -> FairQueries:
    """The queries (keys of ``artist_of``: query -> its artist) whose artist the other version never trained on
    (``theirs``), or the challenger trained on as well (``mine``: both heard it, as families trained on every
    track's audio do). Where ``theirs`` was not recorded (None), only the other version's own test artists
    (``their_test``) are known to be unseen."""
    if theirs is None:
        left_out = {a for a in artist_of.values() if a not in their_test and a not in mine}
    else:
        left_out = {a for a in artist_of.values() if a in theirs and a not in mine}
    kept = [q for q, a in artist_of.items() if a not in left_out]
    return FairQueries(kept, left_out, len({artist_of[q] for q in kept}), theirs is not None)

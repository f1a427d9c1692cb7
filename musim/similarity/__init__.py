"""Artist–artist similarity from co-listening, computed in SQL (``sql/similarity/``)."""

METRICS: tuple[str, ...] = ("seed", "jaccard", "cosine", "lift", "pmi")

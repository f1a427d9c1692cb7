"""The parameters of a similarity build, in a module of their own: the command line's options and the
``artist_similarity`` DAG's params take their defaults from :class:`SimilarityParams` (parsing a DAG file or
building the CLI parser imports no DuckDB)."""

from __future__ import annotations

from musim.params import Count, params_record

__all__ = ["SimilarityParams"]


@params_record("similarity parameter")
class SimilarityParams:
    """Parameters of a similarity build (whole numbers from 1, checked on construction: ``k=2.5``, ``True`` or
    ``"10"`` from a direct caller are one :class:`ParameterError` naming the field)."""

    min_listeners: Count = 50
    min_co_listeners: Count = 2
    k: Count = 100
    catalogue_size: Count = 1000

"""The parameters of a similarity build, in a module of their own: the command line's options and the
``artist_similarity`` DAG's params take their defaults from :class:`SimilarityParams` (parsing a DAG file or
building the CLI parser imports no DuckDB)."""

from __future__ import annotations

from musim.params import Count, params_record

__all__ = ["SimilarityParams"]


@params_record("similarity parameter")
class SimilarityParams:
    """Parameters of a similarity build: whole numbers from 1, checked on construction. As every parameter record
    (:mod:`musim.params`: pydantic's lax integers), a number written as text is taken as that number (``k="10"`` is
    10) and ``2.0`` as 2; ``k=2.5``, ``"ten"``, ``"2.5"``, ``True`` or ``0`` is one :class:`ParameterError` naming
    the field. The ``artist_similarity`` DAG's params are ``integer`` params: Airflow refuses a conf's ``"10"``
    (a string) when the run is created, before any task, so text reaches this record from a direct caller only."""

    min_listeners: Count = 50
    min_co_listeners: Count = 2
    k: Count = 100
    catalogue_size: Count = 1000

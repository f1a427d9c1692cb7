"""The Airflow Assets between musim's DAGs, defined once.

URIs are plain strings so that the library does not need Airflow; :func:`asset` builds the
``airflow.sdk.Asset`` inside a DAG file.
"""

from __future__ import annotations

URIS: dict[str, str] = {
    "lastfm_plays": "musim://warehouse/lastfm_plays",
    "artist_similarity": "musim://serving/artist_similarity",
    "previews": "musim://objects/audio/previews",
    "features": "musim://objects/features",
    "models": "musim://objects/models",
}


def asset(name: str):
    """The ``airflow.sdk.Asset`` called ``name`` (one of :data:`URIS`)."""
    from airflow.sdk import Asset

    return Asset(name=name, uri=URIS[name], group="musim")

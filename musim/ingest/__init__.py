"""Ingestion of Last.FM dumps into the warehouse (see :func:`musim.ingest.lastfm.ingest_lastfm`)."""

"""musim's web page: similar artists and tracks, the model leaderboard and data quality, from the snapshot.

- :mod:`musim.queries` (below the UI, shared with the CLI) — the questions, as plain data, on a read-only
  snapshot connection;
- :mod:`musim.ui.snapshot` — read-only connections cached by snapshot path;
- :mod:`musim.ui.page` — server-rendered HTML (plus ``static/``);
- :mod:`musim.ui.objects` — HTTP byte ranges of the object store's files served at ``/objects/``;
- :mod:`musim.ui.app` — the FastAPI app (page + JSON API), mounted in Airflow by ``plugins/musim_plugin.py``;
- :mod:`musim.ui.standalone` — the environment for ``airflow standalone`` with this repo's DAGs and plugins.

Nothing here imports Airflow.
"""

"""musim's page in the Airflow UI (Airflow 3.1+ plugin interface; verified against Airflow 3.3's
``airflow.plugins_manager`` and the UI bundle).

- ``fastapi_apps``: :func:`musim.ui.app.create_app` is mounted on the API server under ``/musim``
  (``airflow.api_fastapi.app.init_plugins`` → ``app.mount(url_prefix, app)``; built on the first request,
  see :class:`LazyApp`). Every route requires an authenticated Airflow user (the UI's JWT cookie or a bearer
  token), like Airflow's own API.
- ``external_views``: a top-level nav entry "musim" whose ``url_route`` ``musim`` makes the UI render the
  page at ``<base>/plugin/musim`` in a same-origin iframe pointing to ``href`` (``musim/``, relative to the
  UI's ``<base href>``, so it also works when ``[api] base_url`` has a path). The UI mirrors the iframe's
  address in its own (``/plugin/musim/musim/?artist=…``), so searches are shareable links.

The app reads only the published read-only DuckDB snapshot (``$MUSIM_HOME/serving/current.duckdb``);
the API server needs the same ``MUSIM_*`` environment as the DAGs (see ``musim.ui.standalone``).
"""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin

URL_PREFIX = "/musim"


def create_app():
    """The musim app guarded by Airflow's authentication (a logged-in user: the UI's cookie or a token)."""
    from airflow.api_fastapi.core_api.security import requires_authenticated
    from fastapi import Depends

    from musim.ui.app import create_app as musim_app

    return musim_app(dependencies=[Depends(requires_authenticated())], title="musim")


class LazyApp:
    """An ASGI app that builds the musim app on its first request, so that loading the plugin in every
    Airflow process (scheduler, workers, CLI) imports neither FastAPI's app stack nor DuckDB nor Airflow's
    API security module; only the API server ever serves it."""

    def __init__(self, factory):
        self._factory = factory
        self._app = None

    async def __call__(self, scope, receive, send):
        if self._app is None:
            self._app = self._factory()
        await self._app(scope, receive, send)


class MusimUIPlugin(AirflowPlugin):
    name = "musim_ui"
    fastapi_apps = [{"app": LazyApp(create_app), "url_prefix": URL_PREFIX,
                     "name": "musim: similar artists, tracks, models"}]
    external_views = [{
        "name": "musim",
        "href": URL_PREFIX.lstrip("/") + "/",
        "url_route": "musim",
        "destination": "nav",
        "nav_top_level": True,
        "icon": URL_PREFIX.lstrip("/") + "/static/icon.svg",
    }]

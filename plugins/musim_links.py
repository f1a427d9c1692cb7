"""musim's Airflow plugin: a **Data Docs** link on the tasks that ran a quality gate.

The gate (:func:`musim.quality.gates.gate_task`) publishes the run's Great Expectations Data Docs to the
object store (``quality/docs/<run_id>/``) and pushes the index's URL as the XCom
``musim_quality_docs``; it does so before failing, so a failed gate has its link too.

- :class:`QualityDocsLink` (a global operator extra link, Airflow 3: ``BaseOperatorLink`` subclass,
  evaluated by the API server) turns that XCom into a link; tasks without it show the button disabled.
- The object store is not a web server (``s3://`` or ``file://`` URLs do not open from the UI), so the
  plugin also mounts a small read-only FastAPI app on the API server, ``/musim-quality/<run_id>/<page>``,
  serving only ``quality/docs/...`` objects, to logged-in users (Airflow's JWT cookie), from
  ``musim.storage.open_store()``. ``musim quality report`` prints the same site's store URL.
"""

from __future__ import annotations

import mimetypes
import re

from airflow.plugins_manager import AirflowPlugin
from airflow.sdk import BaseOperatorLink

DOCS_XCOM_KEY = "musim_quality_docs"  # = musim.quality.DOCS_LINK_XCOM_KEY (kept literal: no GX-side import)
ROUTE = "/musim-quality"
_RUN = re.compile(r"^q\d{8}T\d{6}Z-[0-9a-f]{6}$")
_DOCS = re.compile(r"quality/docs/(q\d{8}T\d{6}Z-[0-9a-f]{6})/(.+)$")


def served_url(store_url: str, base_url: str = "") -> str:
    """The API-server URL of a Data Docs page given its object-store URL (unchanged if not one)."""
    m = _DOCS.search(store_url)
    if not m:
        return store_url
    return f"{base_url.rstrip('/')}{ROUTE}/{m.group(1)}/{m.group(2)}"


class QualityDocsLink(BaseOperatorLink):
    """The Data Docs of the quality run this task instance made."""

    name = "Data Docs"

    @property
    def xcom_key(self) -> str:
        return DOCS_XCOM_KEY

    def get_link(self, operator, *, ti_key) -> str:
        from airflow.configuration import conf
        from airflow.serialization.definitions.operatorlink import XComOperatorLink

        stored = XComOperatorLink(name=self.name, xcom_key=self.xcom_key).get_link(operator, ti_key=ti_key)
        if not stored:
            return ""
        return served_url(stored, conf.get("api", "base_url", fallback="") or "")


def docs_app(*, require_auth: bool = True):
    """A read-only FastAPI app serving ``quality/docs/<run_id>/<path>`` from musim's object store
    (``<run_id>/`` alone is the index)."""
    from fastapi import Depends, FastAPI, HTTPException
    from fastapi.responses import Response

    dependencies = []
    if require_auth:  # logged-in Airflow users only (the UI's JWT cookie or a bearer token)
        from airflow.api_fastapi.core_api.security import requires_authenticated

        dependencies = [Depends(requires_authenticated())]
    app = FastAPI(title="musim quality Data Docs", dependencies=dependencies)

    @app.get("/{run_id}/{path:path}")
    def page(run_id: str, path: str):
        from musim.storage import InvalidKey, ObjectNotFound, open_store, validate_key
        from musim.ui.app import OBJECT_HEADERS  # an opaque origin: Data Docs show values unescaped

        if not _RUN.match(run_id):
            raise HTTPException(status_code=404, detail="not a quality run id")
        key = f"quality/docs/{run_id}/{path or 'index.html'}"
        try:
            data = open_store().get_bytes(validate_key(key))
        except (InvalidKey, ObjectNotFound):
            raise HTTPException(status_code=404, detail=f"no Data Docs page {path!r} for run {run_id}") from None
        return Response(data, media_type=mimetypes.guess_type(key)[0] or "application/octet-stream",
                        headers=OBJECT_HEADERS)

    return app


class MusimQualityPlugin(AirflowPlugin):
    name = "musim_quality"
    global_operator_extra_links = [QualityDocsLink()]
    fastapi_apps = [{"app": docs_app(), "url_prefix": ROUTE, "name": "musim quality Data Docs"}]

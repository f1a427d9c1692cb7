"""musim's Airflow plugin: a **Data Docs** link on the tasks that ran a quality gate.

The gate (:func:`musim.quality.gates.gate_task`) publishes the run's Great Expectations Data Docs to the
object store (``quality/docs/<run_id>/``) and pushes the index's URL as the XCom
``musim_quality_docs``; it does so before failing, so a failed gate has its link too.

:class:`QualityDocsLink` (a global operator extra link, Airflow 3: ``BaseOperatorLink`` subclass, evaluated
by the API server) turns that XCom into a link; tasks without it show the button disabled, and so do tasks whose
XCom is no store URL of a Data Docs page (any task can push that key: ``javascript:…`` or another site's address
never becomes the link; the value is logged once). The object store
is not a web server (``s3://`` or ``file://`` URLs do not open from the UI), so the link points at the musim
app that ``plugins/musim_plugin.py`` mounts on the API server: ``<base>/musim/objects/quality/docs/<run_id>/``
(:func:`musim.ui.app.create_app`'s ``/objects`` route). That one endpoint serves Data Docs everywhere: to
logged-in Airflow users only, as a sandboxed opaque origin (``Content-Security-Policy: sandbox ...``: GX
writes the data's values unescaped), 404 outside ``quality/docs/`` and ``models/``, 503 with the reason when
the object store cannot be reached. ``musim quality report`` prints the same site's store URL.
"""

from __future__ import annotations

import logging
import re

from airflow.plugins_manager import AirflowPlugin
from airflow.sdk import BaseOperatorLink

log = logging.getLogger(__name__)
DOCS_XCOM_KEY = "musim_quality_docs"  # = musim.quality.DOCS_LINK_XCOM_KEY (kept literal: no GX-side import)
APP_PREFIX = "/musim"  # = musim_plugin.URL_PREFIX, where the musim app is mounted (a test holds them equal)
MAX_URL = 4096  # a store URL longer than this is no page musim wrote
#: What the gate pushes: the store's URL of a run's Data Docs page (``store.url(key)``: ``file:///…`` or
#: ``s3://bucket/prefix/…``, whose part before ``quality/docs/`` the link drops), the page's path of plain segments
#: (none ``.`` or ``..``), no query, fragment, space or control character.
_DOCS = re.compile(r"(?:file|s3)://[^\x00-\x1f\x7f?#\\]*/quality/docs/(q\d{8}T\d{6}Z-[0-9a-f]{6})/"
                   r"((?:[\w-][\w.-]*/)*[\w-][\w.-]*\.html)", re.ASCII)
_refused: set[str] = set()  # the values logged already: each once per process


def served_url(store_url: object, base_url: str = "") -> str | None:
    """The API-server URL of a Data Docs page given its object-store URL; None (no link) for anything else: the
    XCom is writable by any task, so a ``javascript:`` or another site's URL must never become the link."""
    m = _DOCS.fullmatch(store_url) if isinstance(store_url, str) and len(store_url) <= MAX_URL else None
    if not m:
        return None
    return f"{base_url.rstrip('/')}{APP_PREFIX}/objects/quality/docs/{m.group(1)}/{m.group(2)}"


def _refuse(stored: object, ti_key: object) -> str:
    from musim.redact import redact

    shown = redact(repr(stored)[:200])
    if shown not in _refused and len(_refused) < 1000:
        _refused.add(shown)
        log.warning("Data Docs link of %s: XCom %s holds %s, no Data Docs page musim wrote; no link shown",
                    ti_key, DOCS_XCOM_KEY, shown)
    return ""


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
        return served_url(stored, conf.get("api", "base_url", fallback="") or "") or _refuse(stored, ti_key)


class MusimQualityPlugin(AirflowPlugin):
    name = "musim_quality"
    global_operator_extra_links = [QualityDocsLink()]

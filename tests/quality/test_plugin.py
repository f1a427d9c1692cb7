"""plugins/musim_links.py: the Data Docs extra link, and the one endpoint it points at (run in a subprocess: it
imports Airflow).

The link leads to the musim app that plugins/musim_plugin.py mounts (``/musim/objects/quality/docs/<run>/``);
a second copy of that endpoint in the links plugin answered 500 where the store was unreachable."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from musim.quality import DOCS_LINK_XCOM_KEY

REPO = Path(__file__).resolve().parents[2]
RUN = "q20261101T010203Z-abc123"

SCRIPT = r"""
import importlib.util, json, sys
from unittest import mock

def load(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod

links, ui_plugin = load("musim_links", sys.argv[1]), load("musim_plugin", sys.argv[2])
run = sys.argv[3]
from airflow.plugins_manager import AirflowPlugin
from airflow.serialization.definitions.operatorlink import XComOperatorLink

out = {"is_plugin": issubclass(links.MusimQualityPlugin, AirflowPlugin)}
link = links.MusimQualityPlugin.global_operator_extra_links[0]
out["name"], out["xcom_key"] = link.name, link.xcom_key
out["apps"] = list(getattr(links.MusimQualityPlugin, "fastapi_apps", None) or [])
out["has_docs_app"] = hasattr(links, "docs_app")
out["prefixes"] = [links.APP_PREFIX, ui_plugin.URL_PREFIX]
stored = f"file:///srv/objects/quality/docs/{run}/index.html"
with mock.patch.object(XComOperatorLink, "get_link", return_value=stored):
    out["link"] = link.get_link(None, ti_key=None)
with mock.patch.object(XComOperatorLink, "get_link", return_value=""):
    out["no_link"] = link.get_link(None, ti_key=None)
out["on_base"] = links.served_url(stored, "https://airflow.example/af/")
out["not_docs"] = links.served_url("s3://b/models/x/card.md", "https://airflow.example")

# the link's path on the API server: the musim app as musim_plugin mounts it (with Airflow's login) ...
from fastapi import FastAPI
from fastapi.testclient import TestClient
from musim.storage import open_store
from musim.ui.app import create_app

path = out["link"]
guarded = FastAPI()
guarded.mount(ui_plugin.URL_PREFIX, ui_plugin.LazyApp(ui_plugin.create_app))
out["unauthenticated"] = TestClient(guarded).get(path).status_code
# ... and what it serves to a logged-in user (the same app without the login dependency)
served = FastAPI()
served.mount(ui_plugin.URL_PREFIX, create_app())
client = TestClient(served, raise_server_exceptions=False)
store = open_store()
store.put_bytes(f"quality/docs/{run}/index.html", b"<html>docs</html>")
store.put_bytes("secret/thing.txt", b"no")
page = client.get(path)
out["page"] = [page.status_code, page.headers["content-type"], page.headers.get("content-security-policy", ""),
               page.headers.get("x-content-type-options", ""), page.text]
out["index"] = client.get(path.rsplit("/", 1)[0] + "/").text
out["missing"] = client.get(path.replace("index.html", "nope.html")).status_code
out["escape"] = client.get(path.replace("index.html", "../../../secret/thing.txt")).status_code
out["secret"] = client.get(ui_plugin.URL_PREFIX + "/objects/secret/thing.txt").status_code
print(json.dumps(out))
"""

UNREACHABLE = r"""
import importlib.util, json, sys
spec = importlib.util.spec_from_file_location("musim_plugin", sys.argv[1])
ui_plugin = importlib.util.module_from_spec(spec)
spec.loader.exec_module(ui_plugin)
from fastapi import FastAPI
from fastapi.testclient import TestClient
from musim.ui.app import create_app

served = FastAPI()
served.mount(ui_plugin.URL_PREFIX, create_app())
r = TestClient(served, raise_server_exceptions=False).get(sys.argv[2])
print(json.dumps([r.status_code, r.text]))
"""


def _run(script: str, *args: str, tmp_path: Path, **extra: str) -> object:
    env = dict(os.environ, AIRFLOW_HOME=str(tmp_path / "airflow"), AIRFLOW__CORE__LOAD_EXAMPLES="False",
               AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=f"sqlite:///{tmp_path / 'airflow.db'}", PYTHONPATH=str(REPO),
               **extra)
    proc = subprocess.run([sys.executable, "-c", script, *args], env=env, capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.mark.airflow
def test_data_docs_link_leads_to_the_musim_app(musim_home, tmp_path):
    out = _run(SCRIPT, str(REPO / "plugins" / "musim_links.py"), str(REPO / "plugins" / "musim_plugin.py"), RUN,
               tmp_path=tmp_path)
    assert out["is_plugin"] and out["name"] == "Data Docs" and out["xcom_key"] == DOCS_LINK_XCOM_KEY
    assert out["apps"] == [] and not out["has_docs_app"]  # one endpoint serves Data Docs: the musim app's
    assert out["prefixes"][0] == out["prefixes"][1]
    assert out["link"] == f"/musim/objects/quality/docs/{RUN}/index.html" and out["no_link"] == ""
    assert out["on_base"] == f"https://airflow.example/af/musim/objects/quality/docs/{RUN}/index.html"
    assert out["not_docs"] is None  # no Data Docs page: no link
    assert out["unauthenticated"] == 401  # logged-in Airflow users only
    status, ctype, csp, nosniff, text = out["page"]
    assert (status, ctype, text) == (200, "text/html; charset=utf-8", "<html>docs</html>")
    # Data Docs show the data's values unescaped: an opaque origin whose scripts reach no session
    assert csp.startswith("sandbox allow-scripts") and "allow-same-origin" not in csp and nosniff == "nosniff"
    assert out["index"] == "<html>docs</html>"
    assert out["missing"] == 404 and out["escape"] == 404 and out["secret"] == 404


@pytest.mark.airflow
def test_data_docs_with_the_store_unreachable_say_so(musim_home, tmp_path):
    status, text = _run(UNREACHABLE, str(REPO / "plugins" / "musim_plugin.py"),
                        f"/musim/objects/quality/docs/{RUN}/index.html", tmp_path=tmp_path,
                        MUSIM_OBJECT_STORE="s3://bucket", MUSIM_S3_ENDPOINT_URL="http://127.0.0.1:9",
                        AWS_ACCESS_KEY_ID="a", AWS_SECRET_ACCESS_KEY="b", MUSIM_S3_MAX_ATTEMPTS="1")
    assert status == 503 and "the object store is unavailable" in text


HOSTILE = r"""
import importlib.util, json, logging, sys
from unittest import mock

spec = importlib.util.spec_from_file_location("musim_links", sys.argv[1])
links = importlib.util.module_from_spec(spec)
spec.loader.exec_module(links)
from airflow.serialization.definitions.operatorlink import XComOperatorLink

run, values = sys.argv[2], json.loads(sys.argv[3])
seen = []
handler = logging.Handler()
handler.emit = lambda record: seen.append(record.getMessage())
links.log.addHandler(handler)
link = links.MusimQualityPlugin.global_operator_extra_links[0]
out = {}
for value in values + values:  # each twice: logged once
    with mock.patch.object(XComOperatorLink, "get_link", return_value=value):
        out[value] = link.get_link(None, ti_key="ti-1")
out["non-strings"] = [links.served_url(v) for v in (None, 3, [f"file:///x/quality/docs/{run}/index.html"], b"x")]
out["spaced"] = links.served_url(f"s3://b/my music/quality/docs/{run}/index.html", "https://af.example")
out["logged"] = seen
print(json.dumps(out))
"""


@pytest.mark.airflow
def test_a_data_docs_xcom_that_is_no_docs_page_musim_wrote_gives_no_link(tmp_path):
    """Any task can push the XCom the link reads, and the link showed it as given: `javascript:` ran in the UI's
    origin, another site's address led there. Only the store URL of a Data Docs page becomes a link (to the musim
    app, never to the host it names); anything else gives none, logged once."""
    docs = f"quality/docs/{RUN}/index.html"
    hostile = ["javascript:alert(document.cookie)", f"javascript:alert(1)//file:///x/{docs}",
               "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==", "//evil.example/" + docs,
               f"http://evil.example/{docs}", f"https://127.0.0.1:8080/{docs}", f"file:///x/{docs}?next=//evil.example",
               f"file:///x/{docs}#x", f"file:///x/quality/docs/{RUN}/../../../../api/v2/dags",
               f"s3://b/quality/docs/{RUN}/a/..%2f../index.html", f"file:///x/quality/docs/{RUN}/index.html\njs",
               f"s3://b/quality/docs/{RUN}/index.html " + "x" * 100, "s3://b/" + "a/" * 3000 + docs,
               "{'docs': 'file:///x/" + docs + "'}", "12"]
    out = _run(HOSTILE, str(REPO / "plugins" / "musim_links.py"), RUN, json.dumps(hostile), tmp_path=tmp_path)
    assert {value: out[value] for value in hostile} == dict.fromkeys(hostile, "")
    assert out["non-strings"] == [None, None, None, None]
    assert out["spaced"] == f"https://af.example/musim/objects/{docs}"  # what precedes quality/docs/ is dropped
    assert len(out["logged"]) == len(hostile) and all("no link shown" in line for line in out["logged"])
    assert all(len(line) < 400 for line in out["logged"])

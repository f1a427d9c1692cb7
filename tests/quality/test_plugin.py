"""plugins/musim_links.py: the Data Docs extra link and the docs app (run in a subprocess: it imports Airflow)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from musim.quality import DOCS_LINK_XCOM_KEY

REPO = Path(__file__).resolve().parents[2]

SCRIPT = r"""
import importlib.util, json, sys
from unittest import mock

spec = importlib.util.spec_from_file_location("musim_links", sys.argv[1])
mod = importlib.util.module_from_spec(spec)
spec.loader.exec_module(mod)
from airflow.plugins_manager import AirflowPlugin
from airflow.serialization.definitions.operatorlink import XComOperatorLink

out = {"is_plugin": issubclass(mod.MusimQualityPlugin, AirflowPlugin)}
link = mod.MusimQualityPlugin.global_operator_extra_links[0]
out["name"], out["xcom_key"] = link.name, link.xcom_key
stored = "file:///srv/objects/quality/docs/q20261101T010203Z-abc123/index.html"
with mock.patch.object(XComOperatorLink, "get_link", return_value=stored):
    out["link"] = link.get_link(None, ti_key=None)
with mock.patch.object(XComOperatorLink, "get_link", return_value=""):
    out["no_link"] = link.get_link(None, ti_key=None)
out["prefix"] = mod.MusimQualityPlugin.fastapi_apps[0]["url_prefix"]

from fastapi.testclient import TestClient
from musim.storage import open_store
store = open_store()
store.put_bytes("quality/docs/q20261101T010203Z-abc123/index.html", b"<html>docs</html>")
store.put_bytes("secret/thing.txt", b"no")
client = TestClient(mod.docs_app(require_auth=False))
out["index"] = client.get("/q20261101T010203Z-abc123/").text
page = client.get("/q20261101T010203Z-abc123/index.html")
out["page"] = [page.status_code, page.headers["content-type"], page.headers.get("content-security-policy", "")]
out["missing"] = client.get("/q20261101T010203Z-abc123/nope.html").status_code
out["escape"] = client.get("/q20261101T010203Z-abc123/../../secret/thing.txt").status_code
out["bad_run"] = client.get("/not-a-run/index.html").status_code
out["unauthenticated"] = TestClient(mod.docs_app()).get("/q20261101T010203Z-abc123/index.html").status_code
print(json.dumps(out))
"""


@pytest.mark.airflow
def test_data_docs_link_and_app(musim_home, tmp_path):
    env = dict(os.environ, AIRFLOW_HOME=str(tmp_path / "airflow"), AIRFLOW__CORE__LOAD_EXAMPLES="False",
               AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=f"sqlite:///{tmp_path / 'airflow.db'}", PYTHONPATH=str(REPO))
    proc = subprocess.run([sys.executable, "-c", SCRIPT, str(REPO / "plugins" / "musim_links.py")], env=env,
                          capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["is_plugin"] and out["name"] == "Data Docs" and out["xcom_key"] == DOCS_LINK_XCOM_KEY
    assert out["link"] == "/musim-quality/q20261101T010203Z-abc123/index.html" and out["no_link"] == ""
    assert out["prefix"] == "/musim-quality"
    assert out["index"] == "<html>docs</html>" and out["page"][:2] == [200, "text/html; charset=utf-8"]
    assert out["page"][2].startswith("sandbox allow-scripts")  # Data Docs show the data's values unescaped
    assert out["missing"] == 404 and out["escape"] == 404 and out["bad_run"] == 404
    assert out["unauthenticated"] in (401, 403)

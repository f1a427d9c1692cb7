"""The musim page inside the real Airflow UI, in a real headless Chromium (Debian's ``chromium``).

Starts ``airflow api-server`` (Airflow 3, SimpleAuthManager in all-admins mode, migrated SQLite metadata DB,
this repo's plugins folder) on a free port of 127.0.0.1, drives Chromium over the DevTools protocol
(:mod:`tests.ui.cdp`), and checks that the "musim" navigation entry opens the page in the UI's iframe, that
a search typed into the page returns the snapshot's rows, and that a deep link with a misspelt name shows
suggestions. Screenshots go to ``test-artifacts/ui/``. Every process started here is stopped.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from musim import serving
from tests.ui.cdp import CHROMIUM, Browser
from tests.ui.conftest import use

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts" / "ui"

pytestmark = [
    pytest.mark.slow, pytest.mark.airflow, pytest.mark.server,
    pytest.mark.skipif(not Path(CHROMIUM).exists(),
                       reason=f"{CHROMIUM} is missing: install Debian's chromium package (apt-get install chromium)"),
]
websockets = pytest.importorskip("websockets.sync.client", reason="the websockets package drives Chromium's DevTools")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _stop(proc: subprocess.Popen) -> None:
    """Stop a process started here with its own session, and its children (its process group only)."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


@pytest.fixture(scope="module")
def api_server(full_home, tmp_path_factory):
    """``airflow api-server`` showing the full snapshot; yields its base URL."""
    tmp = tmp_path_factory.mktemp("airflow")
    port = _free_port()
    env = dict(os.environ)
    for key in [k for k in env if k.startswith("AIRFLOW__") or k.startswith("MUSIM_")]:
        del env[key]
    env.update({
        "MUSIM_HOME": str(full_home.path), "MUSIM_DUCKDB_MEMORY": "1GB", "MUSIM_DUCKDB_THREADS": "2",
        "AIRFLOW_HOME": str(tmp), "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(REPO / "plugins"), "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor", "AIRFLOW__CORE__PARALLELISM": "4",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{tmp / 'airflow.db'}",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
        "AIRFLOW__API__PORT": str(port), "AIRFLOW__API__WORKERS": "1",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
    })
    airflow = str(Path(sys.executable).with_name("airflow"))
    log = tmp / "api-server.log"
    migrate = subprocess.run([airflow, "db", "migrate"], env=env, capture_output=True, text=True, timeout=300)
    assert migrate.returncode == 0, migrate.stdout[-2000:] + migrate.stderr[-2000:]
    with open(log, "wb") as fh:
        proc = subprocess.Popen([airflow, "api-server", "--host", "127.0.0.1", "--port", str(port)], env=env,
                                stdout=fh, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 240
        while True:
            try:
                with urllib.request.urlopen(f"{base}/api/v2/monitor/health", timeout=5) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"airflow api-server did not come up:\n{log.read_text(errors='replace')[-4000:]}")
            time.sleep(1)
        yield {"url": base, "log": log}
    finally:
        _stop(proc)


def _api(base: str, path: str):
    with urllib.request.urlopen(base + path, timeout=30) as r:
        return json.loads(r.read())


IFRAME = "document.querySelector('iframe[title=\"musim\"]')"
DOC = f"({IFRAME} && {IFRAME}.contentDocument)"


def test_plugin_is_registered_with_the_api_server(api_server):
    plugins = {p["name"]: p for p in _api(api_server["url"], "/api/v2/plugins")["plugins"]}
    assert "musim_ui" in plugins, plugins.keys()
    view = plugins["musim_ui"]["external_views"][0]
    assert (view["url_route"], view["href"], view["destination"]) == ("musim", "musim/", "nav")
    assert plugins["musim_ui"]["fastapi_apps"][0]["url_prefix"] == "/musim"


def test_musim_page_in_the_airflow_ui_searches_similar_artists(api_server, full_home, monkeypatch, tmp_path):
    base = api_server["url"]
    use(full_home, monkeypatch)
    con = serving.open_snapshot()
    artist = con.execute("""SELECT a.name FROM artist_listeners l JOIN artist a USING (artist_id)
                            ORDER BY l.listeners DESC LIMIT 1""").fetchone()[0]
    want = [r[0] for r in con.execute("""SELECT neighbor FROM similar_artists WHERE artist = ? AND metric = 'jaccard'
                                         AND rank <= 5 ORDER BY rank""", [artist]).fetchall()]
    con.close()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)

    with Browser(tmp_path / "chromium-profile", log=tmp_path / "chromium.log") as b:
        # the Airflow UI with the musim entry in its navigation; the entry opens the page in an iframe
        b.goto(f"{base}/")
        nav = b.wait_for("(() => { const a = Array.from(document.querySelectorAll('a')).find("
                         "e => (e.getAttribute('href') || '').endsWith('plugin/musim')); "
                         "return a ? a.textContent.trim() : null; })()", timeout=90, what="the musim nav entry")
        assert "musim" in nav
        b.eval("Array.from(document.querySelectorAll('a')).find(e => (e.getAttribute('href') || '')"
               ".endsWith('plugin/musim')).click()")
        b.wait_for(f"{DOC} && {DOC}.querySelector('#artist-form') && {DOC}.readyState === 'complete'",
                   timeout=60, what="the musim page inside the Airflow UI")
        assert b.eval("location.pathname").endswith("/plugin/musim/musim/")
        assert b.eval(f"{DOC}.querySelector('#snapshot').textContent").startswith("Snapshot snapshot-")

        # a search typed into the page (lower case, another metric, 5 neighbours)
        b.eval(f"""(() => {{ const d = {DOC};
            d.querySelector('#artist-input').value = {json.dumps(artist.lower())};
            d.querySelector('#metric-select').value = 'jaccard';
            d.querySelector('#artist-form input[name=k]').value = '5';
            d.querySelector('#artist-form').requestSubmit(); }})()""")
        b.wait_for(f"{DOC} && {DOC}.querySelector('#artist-name') && "
                   f"{DOC}.querySelectorAll('#colistening-table tr.result').length === 5",
                   timeout=60, what="the search results")
        got = b.eval(f"Array.from({DOC}.querySelectorAll('#colistening-table tr.result td:nth-child(2)'))"
                     ".map(td => td.textContent.trim())")
        assert got == want
        assert b.eval(f"{DOC}.querySelector('#artist-name').textContent") == artist
        audio = b.eval(f"{DOC}.querySelectorAll('#audio-table tr.result').length")
        assert audio == 5
        # the UI mirrors the iframe's address: the search is a shareable link (the outer page learns the iframe's
        # new address after the results are drawn, so it is waited for: asserting at once failed on a loaded machine)
        b.wait_for("location.href.includes('/plugin/musim/musim/?artist=') && location.href.includes('metric=jaccard')",
                   timeout=30, what="the Airflow UI's address mirroring the search")
        shot = b.screenshot(ARTIFACTS / "musim-in-airflow-search.png")
        assert shot.stat().st_size > 20_000

        # a deep link with a misspelt name: suggestions, no error
        typo = artist[:-1] + ("x" if artist[-1] != "x" else "y")
        b.goto(f"{base}/plugin/musim/musim/?artist={urllib.parse.quote(typo)}#artists")
        b.wait_for(f"!!({DOC} && {DOC}.querySelector('[data-testid=artist-not-found]'))", timeout=60,
                   what="the unknown-artist notice")
        sugg = b.eval(f"Array.from({DOC}.querySelectorAll('#suggestions a')).map(a => a.textContent)")
        assert artist in sugg
        b.eval(f"{DOC}.querySelector('#models').scrollIntoView()")
        b.screenshot(ARTIFACTS / "musim-in-airflow-models-quality.png")

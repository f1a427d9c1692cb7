"""The page under its Content-Security-Policy in a real headless Chromium (Debian's ``chromium``): its style sheet,
icon and script load, the script sorts a table and fetches the autocomplete, and the browser reports no
violation. Serves the app alone (uvicorn on a free port of 127.0.0.1, stopped at the end)."""

from __future__ import annotations

import json
import socket
import threading
import time
from pathlib import Path

import pytest

from musim import serving
from tests.ui.cdp import CHROMIUM, Browser
from tests.ui.conftest import use

pytestmark = [
    pytest.mark.slow, pytest.mark.server,
    pytest.mark.skipif(not Path(CHROMIUM).exists(),
                       reason=f"{CHROMIUM} is missing: install Debian's chromium package (apt-get install chromium)"),
]
websockets = pytest.importorskip("websockets.sync.client", reason="the websockets package drives Chromium's DevTools")
uvicorn = pytest.importorskip("uvicorn", reason="uvicorn serves the app")

# Records every violation the page's policy reports, from before the page's own script runs.
RECORD = ("window.__csp = []; document.addEventListener('securitypolicyviolation', "
          "e => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));")


@pytest.fixture
def app_url(full_home, monkeypatch):
    from musim.ui.app import create_app

    use(full_home, monkeypatch)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=30)


def test_the_page_works_under_its_content_security_policy(app_url, full_home, tmp_path):
    con = serving.open_snapshot()
    artist = con.execute("""SELECT a.name FROM artist_listeners l JOIN artist a USING (artist_id)
                            ORDER BY l.listeners DESC LIMIT 1""").fetchone()[0]
    con.close()
    with Browser(tmp_path / "chromium-profile", log=tmp_path / "chromium.log") as b:
        b.call("Page.addScriptToEvaluateOnNewDocument", {"source": RECORD})
        b.goto(f"{app_url}/?artist={artist}")
        b.wait_for("document.readyState === 'complete' && !!document.querySelector('#colistening-table')",
                   what="the page with its results")
        # the style sheet applied (flex header), the icon loaded, the script ran (a header click sorts)
        assert b.eval("getComputedStyle(document.querySelector('header')).display") == "flex"
        assert b.eval("document.querySelector('header img').naturalWidth") > 0
        b.eval("document.querySelector('#colistening-table th').click()")
        assert b.eval("document.querySelector('#colistening-table th').classList.contains('sorted-asc')")
        # the autocomplete's fetch of api/suggest is allowed
        prefix = json.dumps(artist[:3])
        b.eval(f"(() => {{ const i = document.querySelector('#artist-input'); i.value = {prefix}; "
               "i.dispatchEvent(new Event('input')); })()")
        b.wait_for("document.querySelectorAll('#artist-names option').length > 0", what="autocomplete entries")
        assert b.eval("window.__csp") == []
        # the policy is in force: an inline script is refused and reported
        b.eval("(() => { const s = document.createElement('script'); s.textContent = 'window.__ran = 1'; "
               "document.body.appendChild(s); })()")
        b.wait_for("window.__csp.length > 0", timeout=10, what="the violation report")
        assert b.eval("window.__ran") is None
        assert b.eval("window.__csp")[0].startswith("script-src")


def _silence_wav(seconds: int, rate: int = 8000) -> bytes:
    import io
    import wave

    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(b"\0\0" * rate * seconds)
    return out.getvalue()


def test_an_audio_element_can_seek_in_an_object(app_url, tmp_path, monkeypatch):
    """Chrome seeks in audio only where the server answers byte ranges: served whole, without Accept-Ranges, the
    audio had no seekable range and a seek went back to 0 s."""
    from musim.storage import open_store

    store = open_store((tmp_path / "store").as_uri())
    monkeypatch.setenv("MUSIM_OBJECT_STORE", store.root_url)
    store.put_bytes("quality/docs/r1/tone.wav", _silence_wav(20))
    store.put_bytes("quality/docs/r1/player.html", b'<audio id="a" src="tone.wav" preload="auto"></audio>')
    with Browser(tmp_path / "chromium-profile", log=tmp_path / "chromium.log") as b:
        b.goto(f"{app_url}/objects/quality/docs/r1/player.html")
        b.wait_for("document.getElementById('a').readyState >= 1", what="the audio's metadata")
        assert b.eval("document.getElementById('a').duration") == pytest.approx(20, abs=0.1)
        assert b.eval("(() => { const s = document.getElementById('a').seekable; "
                      "return s.length ? s.end(s.length - 1) : 0; })()") == pytest.approx(20, abs=0.1)
        b.eval("document.getElementById('a').currentTime = 15")
        b.wait_for("!document.getElementById('a').seeking", what="the seek's end")
        assert b.eval("document.getElementById('a').currentTime") == pytest.approx(15, abs=0.1)

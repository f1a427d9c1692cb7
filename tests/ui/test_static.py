"""The page's script (``musim/ui/static/musim.js``) run by Node on a small stand-in of the page's elements: the
autocomplete's entries for a shared name, and the artist id it sends when one is picked."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from musim.ui.app import STATIC, create_app
from tests.ui.test_app import _namesakes_published

NODE = shutil.which("node")
pytestmark = pytest.mark.skipif(NODE is None, reason="node (Node.js) runs the page's script here; not installed")

# The elements the script looks up, their events, timers run at once, fetch answered with ANSWER; then the
# steps: each sets the input's text, fires "input", waits, and records the options and the hidden artist id.
HARNESS = r"""
const [script, answer, steps, startId, startName] = process.argv.slice(2);
const handlers = {};
function element(id) {
  const el = { id, value: "", attrs: {}, children: [],
    addEventListener(ev, fn) { handlers[id + ":" + ev] = fn; },
    setAttribute(k, v) { this.attrs[k] = String(v); },
    getAttribute(k) { return k in this.attrs ? this.attrs[k] : null; },
    appendChild(c) { this.children.push(c); } };
  Object.defineProperty(el, "textContent", { set() { el.children = []; }, get() { return ""; } });
  return el;
}
const els = { "artist-input": element("artist-input"), "artist-names": element("artist-names"),
              "artist-id": element("artist-id") };
els["artist-id"].value = startId;
els["artist-id"].setAttribute("data-name", startName);
const asked = [];
global.document = { getElementById: (id) => els[id] || null, querySelectorAll: () => [],
                    createElement: () => ({ value: "" }) };
global.setTimeout = (fn) => { fn(); return 0; };
global.clearTimeout = () => {};
global.fetch = (url) => { asked.push(url); return Promise.resolve({ ok: true, json: () => JSON.parse(answer) }); };
require(script);
(async () => {
  const out = [];
  for (const text of JSON.parse(steps)) {
    els["artist-input"].value = text;
    handlers["artist-input:input"]();
    await new Promise((r) => setImmediate(r));
    out.push({ options: els["artist-names"].children.map((o) => o.value), artist_id: els["artist-id"].value });
  }
  console.log(JSON.stringify({ asked, steps: out }));
})();
"""


def _run(tmp_path: Path, answer: dict, steps: list[str], start_id: str = "", start_name: str = "") -> dict:
    harness = tmp_path / "harness.js"
    harness.write_text(HARNESS)
    done = subprocess.run([NODE, str(harness), str(STATIC / "musim.js"), json.dumps(answer), json.dumps(steps),
                           start_id, start_name], capture_output=True, text=True, timeout=60, check=True)
    return json.loads(done.stdout)


def test_a_shared_name_is_one_entry_per_artist_and_the_picked_one_is_asked_for_by_id(tmp_path):
    from tests.lastfm_files import MB_A, MB_B

    ids = _namesakes_published(tmp_path)
    with TestClient(create_app()) as client:
        answer = client.get("/api/suggest", params={"q": "nirv", "limit": 10}).json()
    first, second = "Nirvana (MBID 11111111…, 4 listeners)", "Nirvana (MBID 22222222…, 2 listeners)"
    got = _run(tmp_path, answer, ["nirv", second, "Björk"])
    assert got["asked"] == ["api/suggest?limit=10&q=nirv", "api/suggest?limit=10&q=Bj%C3%B6rk"]  # (none when picked)
    assert [s["options"] for s in got["steps"][:2]] == [[first, second]] * 2
    assert [s["artist_id"] for s in got["steps"]] == ["", str(ids[MB_B]), ""]  # picked, then a name typed
    # a page answered for an id keeps it while the name is unchanged, and drops it once another is typed
    kept = _run(tmp_path, answer, ["Nirvana", "Nirvana Tribute"], start_id=str(ids[MB_A]), start_name="Nirvana")
    assert [s["artist_id"] for s in kept["steps"]] == [str(ids[MB_A]), ""]

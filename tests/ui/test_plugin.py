"""The Airflow plugin module: what it registers, that it loads lazily, and that its app requires a login."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

pytestmark = pytest.mark.airflow
PLUGIN = Path(__file__).resolve().parents[2] / "plugins" / "musim_plugin.py"


@pytest.fixture(scope="module")
def plugin_module():
    spec = importlib.util.spec_from_file_location("musim_plugin_under_test", PLUGIN)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_plugin_registers_an_app_and_a_nav_view(plugin_module):
    from airflow.plugins_manager import AirflowPlugin

    plugin = plugin_module.MusimUIPlugin
    assert issubclass(plugin, AirflowPlugin) and plugin.name == "musim_ui"
    (app,) = plugin.fastapi_apps
    assert app["url_prefix"] == "/musim" and isinstance(app["app"], plugin_module.LazyApp)
    (view,) = plugin.external_views
    # href relative to the UI's <base href>; url_route = the UI path /plugin/musim
    assert view["href"] == "musim/" and view["url_route"] == "musim" and view["destination"] == "nav"
    assert not view["href"].startswith("/") and view["icon"] == "musim/static/icon.svg"


@pytest.mark.slow
def test_the_mounted_app_requires_an_airflow_login(plugin_module):
    from fastapi.testclient import TestClient

    with TestClient(plugin_module.LazyApp(plugin_module.create_app)) as client:
        for url in ("/", "/api/similar?artist=a", "/api/status", "/objects/models/x/card.md"):
            assert client.get(url).status_code == 401, url
        assert client.get("/static/musim.css").status_code == 200  # assets only

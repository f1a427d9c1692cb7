"""Every declared runtime dependency is imported by the runtime code (musim/, dags/, plugins/), or says why not."""

from __future__ import annotations

import ast
import importlib.metadata as md
import re
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
#: Dependencies that are loaded by name rather than imported, and by what.
LOADED_BY_NAME = {
    "apache-airflow-providers-standard": "Airflow's provider manager (operators, sensors)",
    "apache-airflow-providers-celery": "the CeleryExecutor of the deployment (AIRFLOW__CORE__EXECUTOR)",
    "celery": "the Celery workers of the deployment (pinned below 5.7 for the provider)",
    "psycopg2-binary": "SQLAlchemy's postgresql:// driver for Airflow's metadata DB",
    "asyncpg": "SQLAlchemy's postgresql+asyncpg:// driver for Airflow's API server",
    "musicnn": "its weight files, read by musim.audio.musicnn through importlib.resources (its code is not used)",
}


def _declared() -> list[str]:
    deps = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    return [re.split(r"[\[<>=!~; ]", d, maxsplit=1)[0].lower() for d in deps]


def _imported_top_levels() -> set[str]:
    names: set[str] = set()
    for folder in ("musim", "dags", "plugins"):
        for path in (REPO / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                if isinstance(node, ast.Import):
                    names.update(a.name.split(".")[0] for a in node.names)
                elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                    names.add(node.module.split(".")[0])
    return names


def test_every_declared_runtime_dependency_is_imported():
    by_distribution: dict[str, set[str]] = {}
    for top, dists in md.packages_distributions().items():
        for dist in dists:
            by_distribution.setdefault(dist.lower().replace("_", "-"), set()).add(top)
    imported = _imported_top_levels()
    unused = []
    for dist in _declared():
        if dist in LOADED_BY_NAME:
            continue
        provides = by_distribution.get(dist, set())
        if dist == "apache-airflow" or dist.startswith("apache-airflow-providers-"):
            provides = {"airflow"}  # imported as airflow.providers.<name>
        if not provides & imported:
            unused.append(f"{dist} (provides {sorted(provides) or '?'})")
    assert not unused, f"declared in pyproject.toml but never imported by musim/, dags/ or plugins/: {unused}"


def test_the_reasons_name_declared_dependencies():
    assert set(LOADED_BY_NAME) <= set(_declared())

"""docker-compose.yaml: valid against the compose spec, self-consistent, and speaking the code's settings."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
COMPOSE = REPO / "docker-compose.yaml"


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def test_validates_against_the_compose_spec():
    exe = Path(sys.executable).with_name("check-jsonschema")
    proc = subprocess.run([str(exe), "--builtin-schema", "vendor.compose-spec", str(COMPOSE)],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_has_the_services_of_a_musim_deployment(compose):
    services = compose["services"]
    for name in ("postgres", "redis", "minio", "minio-init", "airflow-init", "airflow-apiserver", "airflow-scheduler",
                 "airflow-dag-processor", "airflow-triggerer", "airflow-worker", "airflow-worker-gpu"):
        assert name in services
    for name, svc in services.items():
        if name not in ("minio-init", "airflow-init"):
            assert "healthcheck" in svc, f"{name} has no health check"
    gpu = services["airflow-worker-gpu"]
    assert gpu["profiles"] == ["gpu"] and "--queues gpu" in gpu["command"]
    assert gpu["deploy"]["resources"]["reservations"]["devices"][0]["capabilities"] == ["gpu"]
    assert "--queues default" in services["airflow-worker"]["command"]
    # training goes where a worker listens: the CPU worker's queue unless .env names gpu (with --profile gpu)
    assert compose["x-airflow-common"]["environment"]["MUSIM_TRAIN_QUEUE"] == "${MUSIM_TRAIN_QUEUE:-default}"
    init = services["airflow-init"]["command"][-1]
    for pool in ("duckdb_writer", "audio_fetch", "gpu"):
        assert f"pools set {pool}" in init


def test_references_only_what_exists(compose):
    services = compose["services"]
    for name, svc in services.items():
        for dep in (svc.get("depends_on") or {}):
            assert dep in services, f"{name} depends on unknown service {dep}"
        for vol in svc.get("volumes", []):
            source = vol.split(":")[0]
            if not source.startswith((".", "/")):
                assert source in compose["volumes"], f"{name} mounts undeclared volume {source}"
            else:
                assert (REPO / source).exists(), f"{name} mounts missing path {source}"
        assert "image" in svc or "build" in svc
    assert (REPO / "Dockerfile").exists()
    for arg in re.findall(r"LOCK: (\S+)", COMPOSE.read_text()):
        assert (REPO / arg).exists()


def test_environment_matches_the_settings_the_code_reads(compose):
    env = compose["x-airflow-common"]["environment"]
    source = "\n".join(p.read_text() for p in (REPO / "musim").rglob("*.py"))
    for key in env:
        if key.startswith(("MUSIM_", "AIRFLOW_CONN_MUSIM", "SPOTIPY_")):
            assert key in source, f"compose sets {key}, which no musim code reads"
    for key in ("MUSIM_HOME", "MUSIM_WAREHOUSE", "MUSIM_SERVING_DIR", "MUSIM_OBJECT_STORE", "MUSIM_LANDING",
                "AIRFLOW_CONN_MUSIM_S3"):
        assert key in env


def test_env_example_has_placeholders_only():
    text = (REPO / ".env.example").read_text()
    values = dict(line.split("=", 1) for line in text.splitlines() if line and not line.startswith("#"))
    for key, value in values.items():
        if any(word in key for word in ("PASSWORD", "SECRET", "JWT")):
            assert value == "" or "CHANGE-ME" in value, f"{key} must be a placeholder"
    used = set(re.findall(r"(?<!\$)\$\{([A-Z_][A-Z0-9_]*)", COMPOSE.read_text()))
    missing = {v for v in used if v not in values and v not in ("AIRFLOW_GPU_IMAGE_NAME",)}
    assert not missing, f".env.example lacks {missing}"


def test_a_first_start_fails_loudly_and_writes_where_the_services_can(compose):
    """From a review: `mc alias ... && mc mb ... && mc ilm ... || true` reported success without a bucket; the data
    folder was made by root and the services (${AIRFLOW_UID}:0) could not write it; the UI password of .env was
    never used; the Fernet key could be left empty; MinIO's root console listened on every interface."""
    services = compose["services"]
    mc = services["minio-init"]["command"][0]
    assert mc.count("|| true") == 1 and "{ mc ilm rule add" in mc
    init = "\n".join(services["airflow-init"]["command"])
    assert 'chown -R "${AIRFLOW_UID:-50000}:0" /opt/musim/data' in init and "passwords.json" in init
    env = compose["x-airflow-common"]["environment"]
    assert env["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"] == "/opt/airflow/auth/passwords.json"
    assert ":?" in env["AIRFLOW__CORE__FERNET_KEY"]
    assert "WWW_PASSWORD" not in env  # only airflow-init sees the UI password
    assert all(p.startswith("127.0.0.1:") for p in services["minio"]["ports"])

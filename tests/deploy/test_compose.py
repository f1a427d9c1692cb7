"""docker-compose.yaml: valid against the compose spec, self-consistent, and speaking the code's settings."""

from __future__ import annotations

import os
import re
import secrets
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
        if key.startswith(("MUSIM_", "SPOTIPY_")):
            assert key in source, f"compose sets {key}, which no musim code reads"
        elif key.startswith("AIRFLOW_CONN_MUSIM"):  # read as AIRFLOW_CONN_<CONN_ID> of a connection id the code names
            conn_id = key.removeprefix("AIRFLOW_CONN_").lower()
            assert f'"{conn_id}"' in source, f"compose sets {key}, but no musim code names the connection {conn_id}"
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


def _env_example() -> dict[str, str]:
    text = (REPO / ".env.example").read_text()
    return dict(line.split("=", 1) for line in text.splitlines() if line and not line.startswith("#"))


def _interpolate(value: str, dotenv: dict[str, str]) -> str:
    """Compose's variable interpolation of ``value`` with ``dotenv`` (``${X}``, ``${X:-d}``, ``${X:?m}``, ``$$``)."""
    def one(m: re.Match) -> str:
        if m.group(0) == "$$":
            return "$"
        name, op, arg = m.group(1), m.group(2), m.group(3)
        got = dotenv.get(name, "")
        if op == ":-" and not got:
            return arg
        if op == ":?" and not got:
            raise ValueError(arg)
        return got

    return re.sub(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:-|:\?)([^}]*))?\}", one, value)


def _run_init_check(compose: dict, dotenv: dict[str, str]) -> subprocess.CompletedProcess:
    """airflow-init's command up to its environment check (bash and its Python heredoc, as in the container), in
    airflow-init's environment rendered from ``dotenv``; the rest replaced by ``echo env-ok``."""
    init = compose["services"]["airflow-init"]
    script = init["command"][-1]
    head, sep, _ = script.partition("\nCHECK_ENV\n")
    assert sep, "airflow-init no longer checks .env first"
    env = {k: _interpolate(str(v), dotenv) for k, v in init["environment"].items()}
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + os.environ["PATH"]
    return subprocess.run(["bash", "-c", head + sep + "echo env-ok\n"], env=env, capture_output=True, text=True,
                          timeout=60)


def _real_values(dotenv: dict[str, str]) -> dict[str, str]:
    from cryptography.fernet import Fernet

    return {**dotenv, "_AIRFLOW_WWW_USER_PASSWORD": secrets.token_urlsafe(12),
            "POSTGRES_PASSWORD": secrets.token_urlsafe(12), "MINIO_ROOT_PASSWORD": secrets.token_urlsafe(12),
            "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_hex(32),
            "AIRFLOW__CORE__FERNET_KEY": Fernet.generate_key().decode()}


def test_an_unedited_env_example_is_refused_by_airflow_init_in_one_line(compose):
    """From a review: a copied, unedited .env.example started an open admin API (JWT secret `CHANGE-ME` lets anyone
    forge an admin token) and a Fernet key that broke connections later; compose's `:?` checks catch only empty
    values, and the UI listened on every interface."""
    dotenv = _env_example()
    refused = _run_init_check(compose, dotenv)
    assert refused.returncode != 0 and "env-ok" not in refused.stdout
    line = refused.stderr.strip()
    assert "\n" not in line and line.startswith("musim: not starting:"), refused.stderr
    for name in ("_AIRFLOW_WWW_USER_PASSWORD", "POSTGRES_PASSWORD", "MINIO_ROOT_PASSWORD",
                 "AIRFLOW__API_AUTH__JWT_SECRET", "AIRFLOW__CORE__FERNET_KEY"):
        assert name in line, line
    assert "CHANGE-ME" in line and "not a Fernet key" in line and "shorter than 32" in line
    assert dotenv["MINIO_ROOT_PASSWORD"] not in line  # it names what to change, not the values

    real = _real_values(dotenv)
    accepted = _run_init_check(compose, real)
    assert accepted.returncode == 0 and accepted.stdout.strip() == "env-ok", accepted.stderr
    out = _run_init_check(compose, {**real, "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_hex(15)})  # 30 chars
    assert out.returncode != 0 and "JWT_SECRET is shorter than 32" in out.stderr
    out = _run_init_check(compose, {**real, "AIRFLOW__CORE__FERNET_KEY": "not-a-key-at-all-but-long-enough"})
    assert out.returncode != 0 and "not a Fernet key" in out.stderr
    out = _run_init_check(compose, {**real, "MINIO_ROOT_PASSWORD": "change-me-please"})
    assert out.returncode != 0 and "MINIO_ROOT_PASSWORD" in out.stderr

    services = compose["services"]
    for name, svc in services.items():  # nothing is published beyond this machine unless the README's way is taken
        assert all(str(p).startswith("127.0.0.1:") for p in svc.get("ports", [])), f"{name}: {svc['ports']}"
    assert "127.0.0.1:8080:8080" in services["airflow-apiserver"]["ports"]


def test_every_landing_the_dags_scan_is_on_shared_storage(compose):
    """From a review: MUSIM_LIBRARY_LANDING was unset, so library_scan scanned a folder inside one container that
    nobody could reach, and stayed green."""
    sections = (REPO / "musim" / "config" / "sections.py").read_text()
    landings = set(re.findall(r'var\("(MUSIM_(?:[A-Z]+_)?LANDING)"', sections))
    assert landings >= {"MUSIM_LANDING", "MUSIM_LIBRARY_LANDING"}
    dags = "\n".join(p.read_text() for p in (REPO / "dags").glob("*.py"))
    assert "scan_landing" in dags and "lastfm_ingest" in dags
    env = compose["x-airflow-common"]["environment"]
    bucket = "s3://${MUSIM_BUCKET:-musim}/"  # the bucket minio-init creates, read through AIRFLOW_CONN_MUSIM_S3
    for name in landings:
        assert name in env, f"compose leaves {name} at its default, a folder inside one container"
        assert env[name].startswith(bucket), f"{name}={env[name]} is not in the shared bucket"
    assert len({env[name] for name in landings}) == len(landings)
    readme = (REPO / "README.md").read_text()
    deployment = readme[readme.index("## Deployment"):]
    deployment = deployment[:deployment.index("\n## ", 5)]
    assert "landing/library" in deployment  # it says where to drop music


def test_the_pools_are_the_embedded_ones_and_fetching_has_one_slot(compose):
    """From a review: the README said audio fetching scales with more workers on the audio_fetch pool (4 slots), but
    audio_acquire runs one fetch at a time to keep the providers' rate limits."""
    from musim.embedded import POOLS

    init = compose["services"]["airflow-init"]["command"][-1]
    pools = {name: int(slots) for name, slots in re.findall(r"airflow pools set (\w+) (\d+) ", init)}
    assert pools == {name: slots for name, (slots, _) in POOLS.items()}
    assert pools["audio_fetch"] == 1
    dag = (REPO / "dags" / "audio_acquire.py").read_text()
    assert re.search(r'@task\(pool="audio_fetch", max_active_tis_per_dag=1\b', dag) and "max_active_runs=1" in dag
    readme = (REPO / "README.md").read_text()
    assert "Audio fetching scales with more Celery workers" not in readme
    assert "one fetch task at a time" in readme


@pytest.mark.parametrize("password", ['pa"ss\\word-1', "back\\nslash-x", "t\\u0041b-tab-1", "ünï cödé $&@/:%#?"])
def test_the_object_store_keys_reach_musim_whatever_characters_they_hold(compose, password):
    """The MinIO keys were written by compose into the JSON of AIRFLOW_CONN_MUSIM_S3: a '"' or '\\' in the password
    broke the connection ("not valid JSON"), and '\\n' or '\\u0041' quietly became another password."""
    from musim.config import get_settings
    from musim.storage.config import resolve_s3_config

    dotenv = {**_real_values(_env_example()), "MINIO_ROOT_PASSWORD": password, "MINIO_ROOT_USER": 'mu"s\\im'}
    env = {k: _interpolate(str(v), dotenv) for k, v in compose["x-airflow-common"]["environment"].items()}
    env["MUSIM_S3_AIRFLOW_LOOKUP"] = "never"  # the compose environment alone, as a task outside Airflow's DB sees it
    config = resolve_s3_config(settings=get_settings(env))
    assert (config.access_key_id, config.secret_access_key) == ('mu"s\\im', password)
    assert config.endpoint_url == "http://minio:9000" and config.source == "AIRFLOW_CONN_MUSIM_S3"
    minio = compose["services"]["minio"]["environment"]
    assert _interpolate(minio["MINIO_ROOT_PASSWORD"], dotenv) == password  # the same keys MinIO is started with


def test_a_database_password_the_database_url_cannot_carry_is_refused_by_airflow_init(compose):
    """POSTGRES_PASSWORD goes into AIRFLOW__DATABASE__SQL_ALCHEMY_CONN as it is: an '@' ended it early (the rest read
    as the host) and a '%' was decoded, so every Airflow service failed to reach its database."""
    real = _real_values(_env_example())
    for password in ("p@ssword-1234", "per%41cent-1234"):
        refused = _run_init_check(compose, {**real, "POSTGRES_PASSWORD": password})
        assert refused.returncode != 0 and "POSTGRES_PASSWORD holds '@' or '%'" in refused.stderr
        assert password not in refused.stderr and "\n" not in refused.stderr.strip()
    accepted = _run_init_check(compose, {**real, "POSTGRES_PASSWORD": "fine-pass/with:colon!"})
    assert accepted.returncode == 0 and accepted.stdout.strip() == "env-ok", accepted.stderr


def test_minio_is_checked_with_what_its_image_carries(compose):
    """MinIO's images carry no curl since RELEASE.2023-11-01 (minio/minio#18371, #18389), and the pinned one is newer:
    the `curl -fsS .../minio/health/live` check never passed, so minio stayed unhealthy and minio-init, airflow-init and
    every Airflow service (which wait for a healthy minio) never started. MinIO documents `mc ready local`."""
    minio = compose["services"]["minio"]
    release = re.search(r"RELEASE\.(\d{4}-\d{2}-\d{2})", minio["image"])
    assert release and release.group(1) >= "2023-11-01", minio["image"]  # an image without curl: the check below
    test = minio["healthcheck"]["test"]
    assert test == ["CMD", "mc", "ready", "local"], test
    for name, svc in compose["services"].items():
        if svc.get("image", "").startswith("minio/"):
            assert "curl" not in str(svc.get("healthcheck", {}).get("test", "")), name

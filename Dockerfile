# musim on the official Airflow image, with the project's locked stack (requirements.lock) installed.
# Build: docker build -t musim-airflow:latest .   (docker-compose.yaml builds it for you)
ARG AIRFLOW_IMAGE=apache/airflow:3.3.2-python3.11
FROM ${AIRFLOW_IMAGE}
# requirements.lock (CPU) or requirements-gpu.lock (adds tensorflow[and-cuda]: the CUDA libraries as wheels)
ARG LOCK=requirements.lock

USER root
# libsndfile1: soundfile; gcc, libc6-dev: musim's C extensions (the line scanner musim/ingest/_scan360k.c and the
# co-occurrence kernels musim/_cooccurrence.c), built at install
RUN apt-get update \
 && apt-get install -y --no-install-recommends libsndfile1 gcc libc6-dev \
 && apt-get clean && rm -rf /var/lib/apt/lists/*
USER airflow

WORKDIR /opt/musim
COPY --chown=airflow:root ${LOCK} pyproject.toml README.md ./
# The lock pins the whole stack (Airflow included) so the image matches every other machine exactly.
RUN pip install --no-cache-dir "uv==0.13.9" \
 && uv pip install --no-cache --compile-bytecode --python "$(command -v python)" -r ${LOCK}
COPY --chown=airflow:root musim ./musim
COPY --chown=airflow:root sql ./sql
RUN uv pip install --no-cache --no-deps --python "$(command -v python)" -e . \
 && python -m musim.features.compile_kernels  # librosa's numba cache, before workers race on it
COPY --chown=airflow:root dags /opt/airflow/dags
COPY --chown=airflow:root plugins /opt/airflow/plugins

# MUSIM_HOME and the folders the named volumes mount on, owned by airflow and writable by group 0: compose runs
# the services as ${AIRFLOW_UID}:0 (any uid, group root, as Airflow's image expects), and a new named volume takes
# its ownership from the image's folder
USER root
RUN mkdir -p /opt/musim/data/warehouse /opt/musim/data/serving \
 && chown -R airflow:0 /opt/musim/data && chmod -R g+rwX /opt/musim/data
USER airflow
ENV MUSIM_HOME=/opt/musim/data

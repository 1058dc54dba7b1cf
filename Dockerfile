# syntax=docker/dockerfile:1
# Two targets; `make image` and `make image-train` build them with docker, or podman where no docker runs:
#   serve (default)  the API under gunicorn, CPU only: the model package, the server and
#                    requirements-serve.lock (no PyTorch, DVC, Dask or the test tools)
#   train            the pipeline (`dvc repro`) and the MLflow server, from requirements-train.lock
# Build arguments:
#   PYTHON_IMAGE  a Debian-based Python 3.11 image with pip and venv (default: Docker Hub's slim one)
#   TRAIN_IMAGE   the train target's base (default: PYTHON_IMAGE; a CUDA image with Python 3.11 works too)
#   TORCH_INDEX   an extra package index for PyTorch in the train image; empty (the default) takes PyPI's
#                 build, with CUDA on Linux; https://download.pytorch.org/whl/cpu gives a CPU-only image

ARG PYTHON_IMAGE=python:3.11-slim-bookworm
ARG TRAIN_IMAGE=${PYTHON_IMAGE}

# The serving virtualenv: exactly the packages of requirements-serve.lock (--no-deps: see ops/lock.py).
# Only /opt/venv leaves this stage.
FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
COPY requirements-serve.lock /tmp/
RUN /opt/venv/bin/pip install --no-deps -r /tmp/requirements-serve.lock \
    && /opt/venv/bin/pip uninstall --quiet -y pip setuptools

FROM ${PYTHON_IMAGE} AS serve
# libgomp1: the OpenMP runtime LightGBM and XGBoost load, which slim Debian images lack. Debian's
# current one is fine, so it is not pinned.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends libgomp1 \
    && apt-get clean && rm -rf /var/lib/apt/lists/*
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PROMETHEUS_MULTIPROC_DIR=/tmp/prometheus \
    GUNICORN_BIND=0.0.0.0:8000 \
    SERVE_PREDICTION_DB=/data/predictions.db
RUN groupadd --system --gid 10001 app && useradd --system --uid 10001 --gid app --home-dir /app app \
    && mkdir -p /data && chown app:app /data
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
# The model package and the server: nothing of the pipeline (stages/, ops/, params.yaml) is needed.
COPY --chown=app:app housing ./housing
COPY --chown=app:app serve ./serve
COPY --chown=app:app deploy/entrypoint.sh /usr/local/bin/entrypoint.sh
USER 10001:10001
EXPOSE 8000
VOLUME ["/data"]
HEALTHCHECK --interval=15s --timeout=3s --start-period=60s --retries=3 CMD ["python", "-m", "serve.healthcheck"]
ENTRYPOINT ["/usr/local/bin/entrypoint.sh"]
CMD ["gunicorn", "-c", "serve/gunicorn.conf.py", "serve.wsgi:app"]

# The training pipeline: run it on a host's checkout with `docker run -v $PWD:/work housing-train`
# (on a GPU host add --gpus all; device: auto picks the GPU). It also runs the team stack's MLflow server.
FROM ${TRAIN_IMAGE} AS train
ARG TORCH_INDEX=
# VIRTUAL_ENV: stages/python runs the stages on it, not on a .venv the mounted checkout may hold.
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONUNBUFFERED=1 \
    VIRTUAL_ENV=/opt/venv PATH=/opt/venv/bin:$PATH
# git: DVC reads the repository; libgomp1: as in serve. Debian's current ones are fine, not pinned.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends git libgomp1 \
    && apt-get clean && rm -rf /var/lib/apt/lists/*
COPY requirements-train.lock /tmp/
# With dependencies, unlike serve: PyPI's CUDA build of PyTorch brings its own CUDA libraries.
# DVC refuses a checkout owned by another user (git's safe.directory): the mounted one is trusted.
RUN python -m venv /opt/venv \
    && pip install ${TORCH_INDEX:+--extra-index-url "$TORCH_INDEX"} -r /tmp/requirements-train.lock \
    && git config --system --add safe.directory '*'
WORKDIR /work
ENTRYPOINT ["dvc"]
CMD ["repro"]

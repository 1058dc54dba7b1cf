# syntax=docker/dockerfile:1
# Two targets:
#   docker build -t housing-api .                         # serve: slim CPU image running gunicorn
#   docker build --target train -t housing-train .        # train: `dvc repro` on a GPU host (--gpus all)

ARG PYTHON_IMAGE=python:3.11-slim-bookworm
# The train target's base. PyPI's PyTorch and XGBoost wheels bring their own CUDA runtime, so the
# host's driver (docker run --gpus all) is all a slim Python needs; any CUDA image with Python 3.11
# and pip works too: --build-arg TRAIN_IMAGE=<cuda image>.
ARG TRAIN_IMAGE=${PYTHON_IMAGE}

# Build the serving virtualenv: the runtime dependencies of pyproject.toml (no test or lint tools) at
# the versions of requirements.lock, with CPU-only PyTorch. Only /opt/venv leaves this stage.
FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
COPY requirements.lock pyproject.toml /tmp/
RUN python -c "import tomllib; print(*tomllib.load(open('/tmp/pyproject.toml', 'rb'))['project']['dependencies'], sep='\n')" \
        > /tmp/runtime.txt \
    && /opt/venv/bin/pip install --extra-index-url https://download.pytorch.org/whl/cpu \
        -r /tmp/runtime.txt -c /tmp/requirements.lock

FROM ${PYTHON_IMAGE} AS serve
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
HEALTHCHECK --interval=15s --timeout=3s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=2)"]
ENTRYPOINT ["/usr/local/bin/entrypoint.sh"]
CMD ["gunicorn", "-c", "serve/gunicorn.conf.py", "serve.wsgi:app"]

# The training pipeline, with PyPI's CUDA builds of PyTorch and XGBoost: run it on a GPU host with
# `docker run --gpus all -v $PWD:/work -w /work housing-train` (device: auto picks the GPU).
FROM ${TRAIN_IMAGE} AS train
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONUNBUFFERED=1
# git is only needed by DVC to read the repository; Debian's current git is fine, so it is not pinned.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends git \
    && rm -rf /var/lib/apt/lists/*
COPY requirements.lock /tmp/requirements.lock
RUN pip install -r /tmp/requirements.lock nvidia-ml-py
ENTRYPOINT ["dvc"]
CMD ["repro"]

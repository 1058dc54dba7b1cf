"""Gunicorn settings for serve.wsgi:app (environment variables GUNICORN_* / SERVE_* override).

Sync workers, which bench/serve measured faster here than gthread workers with kept-alive connections
(docs/serving.md, "Serving speed"): a sync worker closes each connection after its response, and on 2 cores
the threads' hand-offs cost more than new connections. GUNICORN_WORKER_CLASS=gthread keeps them
alive. A stop (SIGTERM) waits for requests in flight up to the graceful timeout; idle kept-alive
connections do not hold it up. Model libraries get one thread per worker: LightGBM, XGBoost and
torch otherwise start a thread per core in every worker, and their spinning OpenMP threads take the
cores the workers answer on.
"""

import os
import shutil
from pathlib import Path

from prometheus_flask_exporter.multiprocess import GunicornInternalPrometheusMetrics

QUIET_THREADS = {"OMP_NUM_THREADS": "1", "OMP_WAIT_POLICY": "PASSIVE", "MKL_NUM_THREADS": "1"}
NO_PROGRESS_BARS = {"MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false"}  # a model load is not a terminal session
# A worker tries the tracking server once at boot and its watcher retries on its own: with MLflow's default
# of 7 retries with backoff, a booting worker would not answer /ready while the server is down for as long
# as they all take.
FEW_RETRIES = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2"}
for variable, value in {**QUIET_THREADS, **NO_PROGRESS_BARS, **FEW_RETRIES}.items():
    os.environ.setdefault(variable, value)

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", "2"))
worker_class = os.environ.get("GUNICORN_WORKER_CLASS", "sync")
# More than one thread turns a sync worker into a gthread one: threads only where gthread is asked for.
threads = int(os.environ.get("GUNICORN_THREADS", "2")) if worker_class == "gthread" else 1
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", "5"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "120"))
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "10"))
preload_app = False


MULTIPROC_DIR = os.environ.get("PROMETHEUS_MULTIPROC_DIR")


def on_starting(server):
    """Start from empty metric files: counters must not carry over from a previous server."""
    if MULTIPROC_DIR:
        shutil.rmtree(MULTIPROC_DIR, ignore_errors=True)
        Path(MULTIPROC_DIR).mkdir(parents=True)


def child_exit(server, worker):
    """Retire a dead worker's multiprocess metric files, so live gauges stop counting it."""
    if MULTIPROC_DIR:
        GunicornInternalPrometheusMetrics.mark_process_dead_on_child_exit(worker.pid)

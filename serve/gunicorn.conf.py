"""Gunicorn settings for serve.wsgi:app (environment variables GUNICORN_* / SERVE_* override).

Sync workers: prediction is CPU-bound, and on 2 cores they answered more requests per second than
gthread workers. Model libraries get one thread per worker: LightGBM, XGBoost and torch otherwise
start a thread per core in every worker, and their spinning OpenMP threads halve throughput.
"""

import os
import shutil
from pathlib import Path

from prometheus_flask_exporter.multiprocess import GunicornInternalPrometheusMetrics

QUIET_THREADS = {"OMP_NUM_THREADS": "1", "OMP_WAIT_POLICY": "PASSIVE", "MKL_NUM_THREADS": "1"}
NO_PROGRESS_BARS = {"MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false"}  # a model load is not a terminal session
for variable, value in {**QUIET_THREADS, **NO_PROGRESS_BARS}.items():
    os.environ.setdefault(variable, value)

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", "2"))
worker_class = os.environ.get("GUNICORN_WORKER_CLASS", "sync")
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "120"))
graceful_timeout = 30
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

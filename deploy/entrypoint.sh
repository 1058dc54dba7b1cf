#!/bin/sh
# Container entrypoint: a fresh multiprocess-metrics folder for gunicorn's workers, then the command.
set -eu
rm -rf "$PROMETHEUS_MULTIPROC_DIR"
mkdir -p "$PROMETHEUS_MULTIPROC_DIR"
exec "$@"

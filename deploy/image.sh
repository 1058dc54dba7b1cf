#!/usr/bin/env bash
# Build a target of the Dockerfile: deploy/image.sh serve|train TAG [more build flags]
# (`make image`, `make image-train`). CONTAINER_ENGINE=docker or podman; unset, docker where its
# daemon answers, else podman (the project's image tests run podman). PYTHON_IMAGE,
# TRAIN_IMAGE and TORCH_INDEX pass from the environment to the build arguments of the same names.
#
# With podman, for hosts that reach no image registry or only a package mirror (this project's CI):
# - a default base image that cannot be pulled is made from Debian's own packages (mmdebstrap):
#   Debian 12's Python 3.11, as bare as python:3.11-slim-bookworm (no documentation or locales), so
#   whatever the wheels need at run time has to come from the Dockerfile itself;
# - the host's pip configuration (the files pip reads and the local folders and files they name) is
#   mounted read-only into the build, so a mirror or wheel folder that serves the host serves the build;
# - runc and open-file limits below the hard limits (crun and podman's defaults fail in some sandboxes).
set -euo pipefail
target=$1 tag=$2
shift 2
cd "$(dirname "$0")/.."
args=(--target "$target" -t "$tag")
for name in PYTHON_IMAGE TRAIN_IMAGE TORCH_INDEX; do
  if [[ -n "${!name+set}" ]]; then args+=(--build-arg "$name=${!name}"); fi
done

engine=${CONTAINER_ENGINE:-}
if [[ -z $engine ]]; then
  if command -v docker >/dev/null && docker info >/dev/null 2>&1; then engine=docker; else engine=podman; fi
fi
if [[ $engine == docker ]]; then
  exec docker build "${args[@]}" "$@" .
fi

STAND_IN=localhost/python:3.11-bookworm
default_base=python:3.11-slim-bookworm

stand_in_base() {
  echo "image.sh: no registry answers for $default_base: making $STAND_IN from Debian's packages" >&2
  mmdebstrap --quiet --variant=minbase --include=python3,python3-venv,python-is-python3,ca-certificates \
    --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-exclude=/usr/share/man/*' \
    --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-exclude=/usr/share/info/*' bookworm - |
    podman import --change 'CMD ["python3"]' - "$STAND_IN" >/dev/null
}

pip_mounts() {
  {
    python3 -m pip config debug 2>/dev/null | sed -n 's/^  \(\/[^,]*\), exists: True$/\1/p'
    # An index's simple/ pages link to files beside it: its parent folder goes in whole.
    python3 -m pip config list 2>/dev/null | grep -o "'[^']*'" | tr -d "'" | tr ' ' '\n' | sed 's#^file://##; s#/simple/*$##' |
      grep '^/' || true
  } | sort -u | while read -r path; do
    if [[ -e $path ]]; then echo "--volume=$path:$path:ro"; fi
  done
}

if [[ -z "${PYTHON_IMAGE-}" ]] && ! podman image exists "$default_base" && ! podman pull -q "$default_base" >/dev/null 2>&1; then
  podman image exists "$STAND_IN" || stand_in_base
  args+=(--build-arg "PYTHON_IMAGE=$STAND_IN")
fi
mapfile -t mounts < <(pip_mounts)
runtime=()
if [[ -x /usr/sbin/runc ]]; then runtime=(--runtime /usr/sbin/runc); fi
# --format docker: the OCI format has no HEALTHCHECK.
exec podman "${runtime[@]}" build --format docker --network host --ulimit nofile=10000:10000 --ulimit nproc=4096:4096 \
  "${mounts[@]}" "${args[@]}" "$@" .

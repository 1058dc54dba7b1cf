"""The container's HEALTHCHECK: `python -m serve.healthcheck` exits 0 when the server answers /health.

It asks the address gunicorn listens on (GUNICORN_BIND, as serve/gunicorn.conf.py reads it), so a
container started with another bind is checked where it listens; a wildcard host is asked on loopback.
"""

from __future__ import annotations

import os
import sys
import urllib.request

WILDCARDS = {"0.0.0.0", "::", "[::]", ""}  # nosec B104  # names the any-interface hosts, binds nothing


def health_url(bind: str) -> str:
    host, _, port = bind.rpartition(":")
    return f"http://{'127.0.0.1' if host in WILDCARDS else host}:{port}/health"


def main() -> int:
    url = health_url(os.environ.get("GUNICORN_BIND", "127.0.0.1:8000"))
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # nosec B310  # an http URL built above
            return 0 if response.status == 200 else 1
    except OSError as error:
        print(f"{url}: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())

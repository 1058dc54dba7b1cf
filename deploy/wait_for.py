"""Wait until every HOST:PORT accepts TCP connections, then run the command after `--`.

    python wait_for.py postgres:5432 s3:9000 -- mlflow server ...

The team stack's services start in any order (podman-compose ignores depends_on conditions and
Kubernetes has none): each one that needs another runs behind this and says what it is waiting for.
Standard library only: it runs in both project images.
"""

from __future__ import annotations

import os
import socket
import sys
import time

RETRY_SECONDS = 1.0
REPORT_EVERY_SECONDS = 10.0


def reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=RETRY_SECONDS):
            return True
    except OSError:  # refused, or the name does not resolve yet (its container is not up)
        return False


def wait_for(address: str) -> None:
    host, _, port = address.rpartition(":")
    started = time.monotonic()
    reported = None
    while not reachable(host, int(port)):
        waited = time.monotonic() - started
        if reported is None or waited - reported >= REPORT_EVERY_SECONDS:
            print(f"waiting for {address} ... ({waited:.0f} s)", flush=True)
            reported = waited
        time.sleep(RETRY_SECONDS)
    print(f"{address} is up", flush=True)


def main(argv: list[str]) -> None:
    if "--" not in argv or argv.index("--") == len(argv) - 1:
        sys.exit("usage: wait_for.py HOST:PORT ... -- COMMAND [ARG ...]")
    split = argv.index("--")
    for address in argv[:split]:
        wait_for(address)
    command = argv[split + 1 :]
    os.execvp(command[0], command)


if __name__ == "__main__":
    main(sys.argv[1:])

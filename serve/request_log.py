"""Every request's id and its access-log line: the id is the client's X-Request-ID when it sends a
usable one, else a new one; it goes back in the response's X-Request-ID, into the prediction log,
and into a JSON line on the `serve.access` logger with the status and the time taken."""

from __future__ import annotations

import json
import logging
import re
import secrets
import time

from flask import Flask, Response, g, request

access_log = logging.getLogger("serve.access")
REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,128}")
"""A client's X-Request-ID is kept when it looks like this; otherwise the server makes one up, 32 hex
digits from `secrets.token_hex`."""


def init_app(app: Flask) -> None:
    app.before_request(start_clock)
    app.after_request(finish)


def start_clock() -> None:
    g.started = time.perf_counter()
    given = request.headers.get("X-Request-ID", "")
    g.request_id = given if REQUEST_ID.fullmatch(given) else secrets.token_hex(16)


def finish(response: Response) -> Response:
    response.headers["X-Request-ID"] = g.request_id
    access_log.info(
        json.dumps(
            {
                "request_id": g.request_id,
                "method": request.method,
                "path": request.path,
                "status": response.status_code,
                "ms": round(elapsed_ms(), 3),
                "remote": request.remote_addr,
            }
        )
    )
    return response


def elapsed_ms() -> float:
    """Time since the request started, in milliseconds."""
    return (time.perf_counter() - g.started) * 1000

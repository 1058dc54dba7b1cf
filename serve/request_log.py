"""Every request's id and its access-log line: the id is the client's X-Request-ID when it sends a
usable one, else a new one; it goes back in the response's X-Request-ID, into the prediction log,
and into a JSON line on the `serve.access` logger with the status and the time taken.

Every 4xx and 5xx answer also goes to the prediction log's errors (the System page's recent errors),
with what its body said; storing one must never turn an answer into another error, so a failure to
queue it is logged and the answer goes out as it was."""

from __future__ import annotations

import json
import logging
import re
import secrets
import time
from datetime import UTC, datetime

from flask import Flask, Response, g, request

from serve.parts import parts
from serve.prediction_log import QueuedError, timestamp

access_log = logging.getLogger("serve.access")
LONGEST_TEXT = 2000
"""Characters of a path or message kept in the errors table: a scanner's 10 kB URL is cut there."""
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
    if response.status_code >= 400:
        keep_error(response)
    return response


def keep_error(response: Response) -> None:
    """Queue an error answer for the prediction log's errors table (never raises: see the docstring)."""
    try:
        error, details = what_went_wrong(response)
        queued = QueuedError(
            created_at=timestamp(datetime.now(UTC)),
            request_id=g.request_id,
            method=request.method,
            path=request.path[:LONGEST_TEXT],
            status=response.status_code,
            error=error[:LONGEST_TEXT],
            details=details[:LONGEST_TEXT],
        )
        parts().predictions.record_error(queued)
    except Exception:
        access_log.exception("could not keep error answer %s of request %s", response.status_code, g.request_id)


def what_went_wrong(response: Response) -> tuple[str, str]:
    """An error answer's message and its details as `field: message; ...`: serve.errors' body (`error`,
    `details`), MLflow's scoring protocol's (`message`), else the status' name."""
    body = None if response.is_streamed else response.get_json(silent=True)
    if not isinstance(body, dict):
        return response.status, ""
    details = body.get("details")
    listed = details if isinstance(details, list) else []
    text = "; ".join(f"{detail.get('field')}: {detail.get('message')}" for detail in listed if isinstance(detail, dict))
    return str(body.get("error") or body.get("message") or response.status), text


def elapsed_ms() -> float:
    """Time since the request started, in milliseconds."""
    return (time.perf_counter() - g.started) * 1000

"""The one place errors become the Compute API's error bodies."""

from __future__ import annotations

import json

import webob

from kumo import exception

# HTTP status -> the key the Compute API wraps its error in (Nova's table);
# any other status is a computeFault.
_FAULT_NAMES = {
    400: "badRequest",
    401: "unauthorized",
    403: "forbidden",
    404: "itemNotFound",
    405: "badMethod",
    409: "conflictingRequest",
    413: "overLimit",
    415: "badMediaType",
    429: "overLimit",
    501: "notImplemented",
    503: "serviceUnavailable",
}


def fault_response(code: int, message: str, name: str | None = None) -> webob.Response:
    name = name or _FAULT_NAMES.get(code, "computeFault")
    body = {name: {"code": code, "message": message}}
    return webob.Response(
        status=code,
        body=json.dumps(body).encode(),
        content_type="application/json",
        charset="utf-8",
    )


def from_exception(exc: Exception) -> webob.Response:
    """The response for ``exc``: its own code and message for kumo errors,
    a bare 500 computeFault (no traceback) for anything else."""
    if isinstance(exc, exception.KumoException):
        # An error may name its own fault key (quota errors: 403 overLimit).
        return fault_response(exc.code, exc.message, getattr(exc, "fault_name", None))
    return fault_response(
        500, "Unexpected API Error. Please report this at your cloud operator's "
        "and attach the request id of this call."
    )

"""The fault kumo-compute records for a server when an operation fails."""

from __future__ import annotations

import traceback
from typing import Any

from kumo import exception


def fault_from_exception(exc: BaseException, message: str | None = None) -> dict[str, Any]:
    """The ``fault`` dict of ``reschedule_instance``: code, message, details."""
    code = exc.code if isinstance(exc, exception.KumoException) else 500
    return {
        "code": code,
        "message": message or str(exc) or type(exc).__name__,
        "details": "".join(traceback.format_exception(exc)),
    }

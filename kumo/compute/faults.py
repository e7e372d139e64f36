"""The fault kumo-compute records for a server when an operation fails.

Every failure path of kumo-compute (a build, a delete, a power action, a
move) records its fault through :func:`record`, with one rule: a fault that
cannot be recorded is logged and tried once more, and never raises out of the
error path that records it — the path still has to end the server's task.
"""

from __future__ import annotations

import traceback
from typing import Any

from oslo_log import log as logging

from kumo import exception

LOG = logging.getLogger(__name__)


def fault_from_exception(exc: BaseException, message: str | None = None) -> dict[str, Any]:
    """The ``fault`` dict of ``reschedule_instance``: code, message, details."""
    code = exc.code if isinstance(exc, exception.KumoException) else 500
    return {
        "code": code,
        "message": message or str(exc) or type(exc).__name__,
        "details": "".join(traceback.format_exception(exc)),
    }


def record(conductor: Any, context: Any, instance_uuid: str, fault: dict[str, Any],
           host: str | None) -> bool:
    """Record ``fault`` (see :func:`fault_from_exception`) on the server.

    Returns False when the server is gone (nothing left to record it on, or
    to put in ERROR), True otherwise — also when recording failed twice: the
    caller goes on ending the task, which matters more than the fault.
    """
    for attempt in (1, 2):
        try:
            conductor.instance_fault_create(
                context, instance_uuid=instance_uuid, code=fault.get("code") or 500,
                message=fault.get("message"), details=fault.get("details"), host=host)
            return True
        except exception.InstanceNotFound:
            LOG.info("Server %s is gone; its fault is not recorded: %s", instance_uuid,
                     fault.get("message"))
            return False
        except Exception as exc:
            if attempt == 1:
                LOG.warning("Could not record the fault of server %s (%s); trying once "
                            "more", instance_uuid, exc)
            else:
                LOG.error("Could not record the fault of server %s: %s (the fault was: "
                          "%s)", instance_uuid, exc, fault.get("message"))
    return True

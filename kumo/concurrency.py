"""Native threads by default; eventlet only when the operator asks for it.

oslo.messaging imports oslo.service, whose default backend is eventlet. kumo
selects oslo.service's threading backend before oslo.messaging is first
imported, so no daemon runs on green threads unless ``KUMO_EVENTLET=1`` is
set in its environment: then the process is monkey-patched here, when
``kumo`` is first imported, and ``[DEFAULT] rpc_executor = eventlet`` may
be used.
"""

from __future__ import annotations

import os
import sys
import warnings


def eventlet_requested() -> bool:
    return os.environ.get("KUMO_EVENTLET", "") == "1"


# futurist, oslo.utils and oslo.service import eventlet merely because it is
# installed (oslo.service depends on it), and each treats an ImportError as
# "not available". Importing it costs ~18 MB of RSS in every daemon (dnspython
# and greenlet with it), so unless eventlet was asked for it is made
# unimportable before anything tries.
if not eventlet_requested() and "eventlet" not in sys.modules:
    sys.modules["eventlet"] = None  # type: ignore[assignment]

# When eventlet is imported its deprecation banner says nothing about kumo.
warnings.filterwarnings("ignore", message="\nEventlet is deprecated")
warnings.filterwarnings("ignore", message="eventletutils module is deprecated")

from oslo_service import backend  # noqa: E402
from oslo_service.backend import exceptions as backend_exceptions  # noqa: E402


def select_backend() -> None:
    """Pick oslo.service's backend once per process (idempotent)."""
    if eventlet_requested():
        import eventlet

        eventlet.monkey_patch()
        wanted = backend.BackendType.EVENTLET
    else:
        wanted = backend.BackendType.THREADING
    try:
        backend.init_backend(wanted)
    except backend_exceptions.BackendAlreadySelected:
        pass


select_backend()

"""kumo: a small, fast Nova-style IaaS compute control plane."""

# Chooses native threads (or, with KUMO_EVENTLET=1, eventlet) before any
# module imports oslo.messaging; see kumo/concurrency.py.
from kumo import concurrency as _concurrency  # noqa: F401

__version__ = "0.1.0"

"""The conductor's endpoints for kumo-compute's periodic tasks (1.12).

Periodic work runs whether or not anyone uses the cloud, so its calls carry
plain rows of the few columns the task reads rather than versioned objects.
"""

from __future__ import annotations

from typing import Any

from kumo import rpc
from kumo.db import power_states as power_state_db


class PeriodicMixin:
    """instance_power_states (1.12)."""

    def instance_power_states(self, context: Any, host: str) -> rpc.Plain:
        # Strings and integers only: the serializer need not walk the rows.
        return rpc.Plain(power_state_db.power_state_rows(host))

"""Client of kumo-scheduler's RPC API.

API version history:

* 1.0 - Initial version: the base API (ping) only; the service's own
  methods arrive with the work that gives it its job.
* 1.1 - select_destinations.
* 1.2 - select_destinations(claim=False): the selected nodes are not claimed
  but answered with ``"claimed": False`` and the ``resources`` for the caller
  to claim.
"""

from __future__ import annotations

from typing import Any

from oslo_config import cfg

from kumo import rpc

CONF = cfg.CONF

TOPIC = "scheduler"


class SchedulerAPI(rpc.RPCAPIBase):
    TOPIC = TOPIC
    SERVICE = "scheduler"
    VERSION = "1.2"

    def select_destinations(self, ctxt: Any, request_spec: dict[str, Any],
                            instance_uuids: list[str], return_alternates: bool = True,
                            claim: bool = True) -> list[list[dict[str, Any]]]:
        """Place every instance of the request: ``[selected, *alternates]`` per instance.

        The selected node of each list is already claimed for its instance,
        unless ``claim`` is False and the scheduler speaks 1.2: each selected
        one then says ``"claimed": False`` and carries the ``resources`` the
        caller must claim (``limits`` are those of the decision). A selection
        without ``claimed`` is claimed.
        Waits up to ``[scheduler] select_destinations_timeout`` seconds (a
        multi-create is one decision, claims included).

        :raises NoValidHost: with the scheduler's explanation.
        """
        args: dict[str, Any] = {"request_spec": request_spec,
                                "instance_uuids": instance_uuids,
                                "return_alternates": return_alternates}
        version = "1.1"
        if not claim and self.can_send_version("1.2"):
            args["claim"], version = False, "1.2"
        return self.call(ctxt, "select_destinations", args, version=version,
                         timeout=max(self.timeout, CONF.scheduler.select_destinations_timeout))

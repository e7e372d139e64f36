"""Client of kumo-compute's RPC API; every call names the host (topic compute, server <host>).

API version history:

* 1.0 - Initial version: the base API (ping) only; server operations arrive
  with the server lifecycle.
* 1.1 - build_and_run_instance, terminate_instance.
* 1.2 - Power actions: reboot_instance, stop_instance, start_instance,
  pause_instance, unpause_instance, suspend_instance, resume_instance (casts);
  get_console_output (call).
* 1.3 - Move actions: resize_instance, finish_resize, revert_resize,
  finish_revert_resize, rebuild_instance, snapshot_instance,
  soft_delete_instance, restore_instance, shelve_instance, unshelve_instance,
  live_migrate_instance, finish_live_migration, rollback_live_migration;
  shelve_offload_instance (the endpoint's since 1.3; the client's with the
  API's shelveOffload).
* 1.4 - Consoles and other additions (each method says which).
  Consoles: get_vnc_console, get_spice_console, validate_console_port (calls).
  Moves: confirm_resize (cast to the source host).
* 1.5 - Additions of the 2026-11-26 (second) session (each method says which).
  Moves: cleanup_move_source; finish_live_migration and rollback_live_migration
  take the source driver's ``handoff``.
"""

from __future__ import annotations

from typing import Any

from kumo import rpc

TOPIC = "compute"


class ComputeAPI(rpc.RPCAPIBase):
    TOPIC = TOPIC
    SERVICE = "compute"
    VERSION = "1.5"

    def build_and_run_instance(self, ctxt: Any, instance: Any, node: str,
                               request_spec: dict[str, Any], host: str) -> None:
        """Have kumo-compute on ``host`` spawn the (already claimed) server on ``node``."""
        self.cast(ctxt, "build_and_run_instance", {
            "instance": instance, "node": node, "request_spec": request_spec},
            server=host, version="1.1")

    def terminate_instance(self, ctxt: Any, instance: Any, host: str) -> None:
        """Have kumo-compute on ``host`` destroy the server's guest and delete its row."""
        self.cast(ctxt, "terminate_instance", {"instance": instance},
                  server=host, version="1.1")

    # --- power actions (1.2) -------------------------------------------------------------

    def reboot_instance(self, ctxt: Any, instance: Any, reboot_type: str, host: str) -> None:
        """Reboot the guest (``SOFT`` or ``HARD``); the server is in a reboot task state."""
        self.cast(ctxt, "reboot_instance", {"instance": instance, "reboot_type": reboot_type},
                  server=host, version="1.2")

    def _power_cast(self, ctxt: Any, method: str, instance: Any, host: str) -> None:
        self.cast(ctxt, method, {"instance": instance}, server=host, version="1.2")

    def stop_instance(self, ctxt: Any, instance: Any, host: str) -> None:
        """Power the guest off (task powering-off → vm_state stopped)."""
        self._power_cast(ctxt, "stop_instance", instance, host)

    def start_instance(self, ctxt: Any, instance: Any, host: str) -> None:
        """Power the guest on (task powering-on → vm_state active)."""
        self._power_cast(ctxt, "start_instance", instance, host)

    def pause_instance(self, ctxt: Any, instance: Any, host: str) -> None:
        self._power_cast(ctxt, "pause_instance", instance, host)

    def unpause_instance(self, ctxt: Any, instance: Any, host: str) -> None:
        self._power_cast(ctxt, "unpause_instance", instance, host)

    def suspend_instance(self, ctxt: Any, instance: Any, host: str) -> None:
        self._power_cast(ctxt, "suspend_instance", instance, host)

    def resume_instance(self, ctxt: Any, instance: Any, host: str) -> None:
        self._power_cast(ctxt, "resume_instance", instance, host)

    def get_console_output(self, ctxt: Any, instance: Any, tail_length: int | None,
                           host: str) -> str:
        """The guest's console log, its last ``tail_length`` lines (None: all)."""
        return self.call(ctxt, "get_console_output",
                         {"instance": instance, "tail_length": tail_length},
                         server=host, version="1.2")

    # --- move actions (1.3) --------------------------------------------------------------

    def resize_instance(self, ctxt: Any, instance: Any, dest_host: str, dest_node: str,
                        flavor: dict[str, Any], host: str) -> None:
        """On the source ``host``: take the guest down, then finish on the destination."""
        self.cast(ctxt, "resize_instance", {
            "instance": instance, "dest_host": dest_host, "dest_node": dest_node,
            "flavor": flavor}, server=host, version="1.3")

    def finish_resize(self, ctxt: Any, instance: Any, node: str, flavor: dict[str, Any],
                      host: str) -> None:
        """On the destination ``host``: start the guest on ``node`` with ``flavor``."""
        self.cast(ctxt, "finish_resize", {"instance": instance, "node": node,
                                          "flavor": flavor}, server=host, version="1.3")

    def confirm_resize(self, ctxt: Any, instance: Any, host: str) -> None:
        """On the source ``host`` of a confirmed resize: drop the disks it kept (1.4)."""
        self.cast(ctxt, "confirm_resize", {"instance": instance}, server=host,
                  version="1.4")

    def revert_resize(self, ctxt: Any, instance: Any, host: str) -> None:
        """On the destination ``host``: take the guest down, then finish on the source."""
        self.cast(ctxt, "revert_resize", {"instance": instance}, server=host,
                  version="1.3")

    def finish_revert_resize(self, ctxt: Any, instance: Any, host: str) -> None:
        """On the source ``host``: start the guest again with the old flavor."""
        self.cast(ctxt, "finish_revert_resize", {"instance": instance}, server=host,
                  version="1.3")

    def rebuild_instance(self, ctxt: Any, instance: Any, image: dict[str, Any],
                         host: str) -> None:
        """Replace the guest's disk with ``image`` ({"id", ...}) and boot it again."""
        self.cast(ctxt, "rebuild_instance", {"instance": instance, "image": image},
                  server=host, version="1.3")

    def snapshot_instance(self, ctxt: Any, instance: Any, image_id: str, host: str) -> None:
        """Capture the guest's disk into the (queued) image ``image_id``."""
        self.cast(ctxt, "snapshot_instance", {"instance": instance, "image_id": image_id},
                  server=host, version="1.3")

    def soft_delete_instance(self, ctxt: Any, instance: Any, host: str) -> None:
        """Power the guest off; the server stays SOFT_DELETED until reclaimed or restored."""
        self.cast(ctxt, "soft_delete_instance", {"instance": instance}, server=host,
                  version="1.3")

    def restore_instance(self, ctxt: Any, instance: Any, host: str) -> None:
        """Power a SOFT_DELETED server's guest on again."""
        self.cast(ctxt, "restore_instance", {"instance": instance}, server=host,
                  version="1.3")

    def shelve_instance(self, ctxt: Any, instance: Any, image_id: str, host: str) -> None:
        """Power off and snapshot into ``image_id``; offload per [DEFAULT] shelved_offload_time."""
        self.cast(ctxt, "shelve_instance", {"instance": instance, "image_id": image_id},
                  server=host, version="1.3")

    def shelve_offload_instance(self, ctxt: Any, instance: Any, host: str) -> None:
        """On ``host``: destroy a SHELVED server's guest and give back its resources
        (the API's shelveOffload; the endpoint has served it since 1.3)."""
        self.cast(ctxt, "shelve_offload_instance", {"instance": instance}, server=host,
                  version="1.3")

    def unshelve_instance(self, ctxt: Any, instance: Any, node: str | None,
                          host: str) -> None:
        """Start the shelved server on ``node`` from its snapshot (None: power it on)."""
        self.cast(ctxt, "unshelve_instance", {"instance": instance, "node": node},
                  server=host, version="1.3")

    def live_migrate_instance(self, ctxt: Any, instance: Any, dest_host: str,
                              dest_node: str, host: str) -> None:
        """On the source ``host``: hand the running guest over to ``dest_node``."""
        self.cast(ctxt, "live_migrate_instance", {
            "instance": instance, "dest_host": dest_host, "dest_node": dest_node},
            server=host, version="1.3")

    def finish_live_migration(self, ctxt: Any, instance: Any, node: str, source_host: str,
                              power: int, host: str,
                              handoff: dict[str, Any] | None = None) -> None:
        """On the destination ``host``: run the guest on ``node`` in power state ``power``
        from the source driver's ``handoff`` (1.5: what it kept and where)."""
        args = {"instance": instance, "node": node, "source_host": source_host,
                "power": power}
        if handoff is not None:
            args["handoff"] = handoff
        self.cast(ctxt, "finish_live_migration", args, server=host,
                  version="1.5" if handoff is not None else "1.3")

    def rollback_live_migration(self, ctxt: Any, instance: Any, power: int,
                                fault: dict[str, Any], host: str,
                                handoff: dict[str, Any] | None = None) -> None:
        """On the source ``host``: the destination failed; run the guest here again
        (1.5: from what the source kept, the ``handoff``)."""
        args = {"instance": instance, "power": power, "fault": fault}
        if handoff is not None:
            args["handoff"] = handoff
        self.cast(ctxt, "rollback_live_migration", args, server=host,
                  version="1.5" if handoff is not None else "1.3")

    def cleanup_move_source(self, ctxt: Any, instance: Any, host: str) -> None:
        """On the source ``host`` of a move that is over (a live migration that
        succeeded, a server deleted while resized or moved away): drop what the
        host kept for a revert or rollback (1.5)."""
        self.cast(ctxt, "cleanup_move_source", {"instance": instance}, server=host,
                  version="1.5")

    # --- remote consoles (1.4) -----------------------------------------------------------

    def get_vnc_console(self, ctxt: Any, instance: Any, console_type: str,
                        host: str) -> dict[str, Any]:
        """A new ``novnc``/``xvpvnc`` console's token and connection info (not yet
        registered with kumo-consoleauth)."""
        return self.call(ctxt, "get_vnc_console",
                         {"instance": instance, "console_type": console_type},
                         server=host, version="1.4")

    def get_spice_console(self, ctxt: Any, instance: Any, console_type: str,
                          host: str) -> dict[str, Any]:
        """As :meth:`get_vnc_console`, for ``spice-html5`` and ``spice-direct``."""
        return self.call(ctxt, "get_spice_console",
                         {"instance": instance, "console_type": console_type},
                         server=host, version="1.4")

    def validate_console_port(self, ctxt: Any, instance: Any, port: int, console_type: str,
                              host: str) -> bool:
        """Whether ``port`` is still the display of the server's guest on ``host``."""
        return self.call(ctxt, "validate_console_port",
                         {"instance": instance, "port": port, "console_type": console_type},
                         server=host, version="1.4")

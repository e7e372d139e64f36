"""Ping each RPC server of one host over the bus; run as a process of its own.

``python rpc_ping.py --config-file kumo.conf`` asks the server of every RPC
topic on ``[DEFAULT] host`` to echo, through the ``baseapi`` endpoint each
RPC server has, and prints one JSON object: topic -> the binary that
answered, or ``"error: ..."``. The functional tests run it so that the test
process itself never becomes an oslo.messaging client.
"""

from __future__ import annotations

import json
import sys

from oslo_config import cfg

from kumo import conf as _conf  # noqa: F401  (registers kumo's options)
from kumo import context, rpc
from kumo.cert import rpcapi as cert_rpcapi
from kumo.compute import rpcapi as compute_rpcapi
from kumo.conductor import rpcapi as conductor_rpcapi
from kumo.consoleauth import rpcapi as consoleauth_rpcapi
from kumo.network import rpcapi as network_rpcapi
from kumo.scheduler import rpcapi as scheduler_rpcapi

CLIENTS = (
    conductor_rpcapi.ConductorAPI,
    scheduler_rpcapi.SchedulerAPI,
    compute_rpcapi.ComputeAPI,
    network_rpcapi.NetworkAPI,
    cert_rpcapi.CertAPI,
    consoleauth_rpcapi.ConsoleAuthAPI,
)

PING_TIMEOUT = 5


def main(argv: list[str]) -> int:
    cfg.CONF(argv, project="kumo")
    rpc.init()
    ctxt = context.get_admin_context()
    answers: dict[str, str] = {}
    try:
        for client_class in CLIENTS:
            client = client_class(timeout=PING_TIMEOUT)
            try:
                reply = client.ping(ctxt, arg=client.TOPIC, server=cfg.CONF.host)
            except Exception as exc:
                answers[client.TOPIC] = f"error: {type(exc).__name__}: {exc}"
            else:
                answers[client.TOPIC] = reply["binary"]
    finally:
        rpc.cleanup()
    print(json.dumps(answers))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

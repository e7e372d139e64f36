"""Make kumo-conductor RPC calls over the bus; run as a process of its own.

``python conductor_calls.py --config-file kumo.conf CALLS`` where CALLS is a
JSON list of ``[method, {kwargs}]``: calls each, in order, as an admin, and
prints one JSON list of the (plain) results. Functional tests use it for
the setup no API offers (a fixed IP for a server booted without kumo-network),
so that the test process itself never becomes an oslo.messaging client.
"""

from __future__ import annotations

import json
import sys

from oslo_config import cfg

from kumo import conf as _conf  # noqa: F401  (registers kumo's options)
from kumo import context, objects, rpc
from kumo.conductor import rows
from kumo.conductor import rpcapi as conductor_rpcapi


def main(argv: list[str]) -> int:
    calls = json.loads(argv[-1])
    cfg.CONF(argv[:-1], project="kumo")
    objects.register_all()
    rpc.init()
    client = conductor_rpcapi.ConductorAPI(timeout=30)
    ctxt = context.get_admin_context()
    try:
        results = [rows.plain(getattr(client, method)(ctxt, **kwargs))
                   for method, kwargs in calls]
    finally:
        rpc.cleanup()
    print(json.dumps(results, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

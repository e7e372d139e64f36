"""Client of kumo-compute's RPC API; every call names the host (topic compute.<host>).

API version history:

* 1.0 - Initial version: the base API (ping) only; server operations arrive
  with the server lifecycle.
"""

from kumo import rpc

TOPIC = "compute"


class ComputeAPI(rpc.RPCAPIBase):
    TOPIC = TOPIC
    SERVICE = "compute"
    VERSION = "1.0"

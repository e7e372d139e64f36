"""Client of kumo-consoleauth's RPC API.

API version history:

* 1.0 - Initial version: the base API (ping) only; the service's own
  methods arrive with the work that gives it its job.
"""

from kumo import rpc

TOPIC = "consoleauth"


class ConsoleAuthAPI(rpc.RPCAPIBase):
    TOPIC = TOPIC
    SERVICE = "consoleauth"
    VERSION = "1.0"

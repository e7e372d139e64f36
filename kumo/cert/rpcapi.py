"""Client of kumo-cert's RPC API.

API version history:

* 1.0 - Initial version: the base API (ping) only; the service's own
  methods arrive with the work that gives it its job.
"""

from kumo import rpc

TOPIC = "cert"


class CertAPI(rpc.RPCAPIBase):
    TOPIC = TOPIC
    SERVICE = "cert"
    VERSION = "1.0"

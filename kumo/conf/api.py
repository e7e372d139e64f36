"""[api] options of kumo-api and kumo-api-metadata."""

from oslo_config import cfg

api_group = cfg.OptGroup("api", title="Compute API options")

opts = [
    cfg.HostAddressOpt(
        "listen", default="0.0.0.0", help="Address the compute API listens on."
    ),
    cfg.PortOpt("port", default=8774, help="Port of the compute API."),
    cfg.HostAddressOpt(
        "metadata_listen", default="0.0.0.0", help="Address the metadata API listens on."
    ),
    cfg.PortOpt("metadata_port", default=8775, help="Port of the metadata API."),
    cfg.BoolOpt(
        "use_forwarded_for",
        default=False,
        help="kumo-api-metadata finds the asking instance by the address in "
        "X-Forwarded-For (its last entry) instead of the peer address. Turn on "
        "only behind a proxy that sets the header, or guests could pose as others.",
    ),
    cfg.IntOpt(
        "metadata_cache_expiration",
        default=15,
        min=0,
        help="Seconds kumo-api-metadata keeps what it learnt about an instance, so "
        "that a guest's burst of requests costs one conductor call; 0 disables the cache.",
    ),
    cfg.StrOpt(
        "metadata_proxy_shared_secret",
        default="",
        secret=True,
        deprecated_opts=[cfg.DeprecatedOpt("metadata_proxy_shared_secret",
                                           group="neutron")],
        help="Secret shared with a metadata proxy: requests carrying X-Instance-ID, "
        "X-Tenant-ID and X-Instance-ID-Signature (HMAC-SHA256 of the instance id with "
        "this secret) are answered for that instance. Empty: those headers are ignored "
        "and only the requester's fixed IP counts.",
    ),
    cfg.StrOpt(
        "vendordata_jsonfile_path",
        default=None,
        help="A JSON file served to every instance as vendor_data.json (and as "
        "\"static\" in vendor_data2.json); unset: {}.",
    ),
    cfg.StrOpt(
        "auth_strategy",
        default="keystone",
        choices=[
            ("keystone", "keystonemiddleware's auth_token against a real Keystone"),
            ("noauth2", "development only: the token 'user:project' is trusted"),
        ],
        help="How kumo-api authenticates requests.",
    ),
    cfg.IntOpt(
        "max_limit",
        default=1000,
        min=1,
        help="Largest number of items one list request returns.",
    ),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    conf.register_group(api_group)
    conf.register_opts(opts, group=api_group)


def list_opts() -> dict:
    return {api_group: opts}

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

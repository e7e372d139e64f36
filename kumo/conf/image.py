"""[image] options: where images come from; [glance]: how to reach a Glance service."""

from oslo_config import cfg

image_group = cfg.OptGroup("image", title="Image service options")
glance_group = cfg.OptGroup("glance", title="Glance v2 image service (with [image] "
                                            "backend = glance)")

opts = [
    cfg.StrOpt(
        "backend",
        default="local",
        choices=[
            ("local", "kumo's embedded store: metadata in kumo's database, bytes in "
                      "local_store_path"),
            ("glance", "an OpenStack Glance v2 service, through keystoneauth1 ([glance])"),
        ],
        help="Where images and their bytes come from."),
    cfg.StrOpt("local_store_path", default="$state_path/images",
               help="Directory of the embedded local image store's image data."),
]

glance_opts = [
    cfg.StrOpt("endpoint",
               help="Glance's URL (e.g. http://controller:9292). Unset: taken from the "
                    "service catalog of the [glance] credentials."),
    cfg.StrOpt("region_name", help="Region of Glance in the service catalog."),
    cfg.StrOpt("interface", default="public",
               help="Endpoint interface of Glance in the service catalog."),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    conf.register_group(image_group)
    conf.register_opts(opts, group=image_group)
    conf.register_group(glance_group)
    conf.register_opts(glance_opts, group=glance_group)


def register_keystoneauth_opts(conf: cfg.ConfigOpts) -> None:
    """keystoneauth1's session (TLS, timeout) and auth plugin options of [glance].

    Registered by the Glance backend when it first needs them, not at start:
    importing keystoneauth1 (requests, urllib3, osprofiler, webob with it) costs
    every daemon ~9 MB of RSS and 200 modules it never uses with the local store.
    """
    from keystoneauth1 import loading as ks_loading

    ks_loading.register_session_conf_options(conf, glance_group.name)
    ks_loading.register_auth_conf_options(conf, glance_group.name)


def list_opts() -> dict:
    from keystoneauth1 import loading as ks_loading

    return {image_group: opts,
            glance_group: (glance_opts + ks_loading.get_session_conf_options()
                           + ks_loading.get_auth_common_conf_options())}

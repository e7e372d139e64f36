"""[image] options: where images come from."""

from oslo_config import cfg

image_group = cfg.OptGroup("image", title="Image service options")

opts = [
    cfg.StrOpt("local_store_path", default="$state_path/images",
               help="Directory of the embedded local image store's image data."),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    conf.register_group(image_group)
    conf.register_opts(opts, group=image_group)


def list_opts() -> dict:
    return {image_group: opts}

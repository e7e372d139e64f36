"""[quota] options: the default limits every project gets (quota class ``default``).

An operator changes them here, or per cloud with ``os-quota-class-sets/default``,
or per project and user with ``os-quota-sets``. -1 means unlimited.
"""

from oslo_config import cfg

quota_group = cfg.OptGroup("quota", title="Quota options",
                           help="Default limits of every project (-1: unlimited).")

opts = [
    cfg.IntOpt("instances", default=10, min=-1, help="Servers per project."),
    cfg.IntOpt("cores", default=20, min=-1, help="vCPUs of all servers per project."),
    cfg.IntOpt("ram", default=50 * 1024, min=-1,
               help="Megabytes of RAM of all servers per project."),
    cfg.IntOpt("metadata_items", default=128, min=-1, help="Metadata items per server."),
    cfg.IntOpt("injected_files", default=5, min=-1, help="Injected files per server."),
    cfg.IntOpt("injected_file_content_bytes", default=10 * 1024, min=-1,
               help="Bytes of one injected file."),
    cfg.IntOpt("injected_file_path_length", default=255, min=-1,
               help="Length of an injected file's path."),
    cfg.IntOpt("key_pairs", default=100, min=-1, help="Key pairs per user."),
    cfg.IntOpt("server_groups", default=10, min=-1, help="Server groups per project."),
    cfg.IntOpt("server_group_members", default=10, min=-1, help="Servers per server group."),
    # The nova-network-era limits, shown to clients before microversion 2.36.
    cfg.IntOpt("floating_ips", default=10, min=-1, help="Floating IPs per project."),
    cfg.IntOpt("fixed_ips", default=-1, min=-1, help="Fixed IPs per project."),
    cfg.IntOpt("security_groups", default=10, min=-1, help="Security groups per project."),
    cfg.IntOpt("security_group_rules", default=20, min=-1,
               help="Rules per security group."),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    conf.register_group(quota_group)
    conf.register_opts(opts, group=quota_group)


def list_opts() -> dict:
    return {quota_group: opts}

"""[network] options of kumo-network: managers, bridges, DHCP, NAT and metadata."""

from oslo_config import cfg

network_group = cfg.OptGroup("network", title="kumo-network options")

opts = [
    cfg.BoolOpt("enabled", default=False,
                help="kumo-compute asks kumo-network for addresses when it builds a "
                     "server and releases them when it deletes one. Off by default so "
                     "that a cloud without kumo-network (the fake driver, unit and "
                     "functional tests) still boots servers; devstack turns it on "
                     "when it starts kumo-network (docs/decisions.md)."),
    cfg.StrOpt(
        "network_manager",
        default="flatdhcp",
        choices=[
            ("flat", "one shared bridge; addresses are injected, no DHCP"),
            ("flatdhcp", "one shared bridge with dnsmasq serving the fixed IPs"),
            ("vlan", "a VLAN, a bridge and a subnet per project, created on first use"),
        ],
        help="How kumo-network lays out fixed networks.",
    ),
    cfg.StrOpt("public_interface", default="eth0",
               help="Interface that carries floating IPs and outbound SNAT."),
    cfg.StrOpt("routing_source_ip", default=None,
               help="Source address of outbound SNAT from fixed ranges; unset: "
                    "MASQUERADE out of public_interface."),
    cfg.StrOpt("flat_network_bridge", default="br100",
               help="Bridge of flat and flatdhcp networks created without one."),
    cfg.StrOpt("flat_interface", default=None,
               help="Physical interface enslaved to the flat bridge (none: the "
                    "bridge only connects local guests)."),
    cfg.StrOpt("vlan_interface", default=None,
               help="Physical interface that carries the VLANs of the vlan manager."),
    cfg.IntOpt("vlan_start", default=100, min=1, max=4094,
               help="First VLAN id the vlan manager hands out."),
    cfg.StrOpt("default_floating_pool", default="nova",
               help="Pool of POST /os-floating-ips without a pool."),
    cfg.StrOpt("fixed_range_v4", default="10.0.0.0/16",
               help="Range the vlan manager carves each project's network out of."),
    cfg.IntOpt("network_size", default=256, min=4,
               help="Addresses in each network the vlan manager creates (a power "
                    "of two)."),
    cfg.StrOpt("namespace", default=None,
               help="Network namespace in which kumo-network builds its bridges, "
                    "dnsmasq and iptables rules (unset: the host's own). For tests "
                    "and for hosts that keep guest networking in a namespace."),
    cfg.IntOpt("rpc_timeout", default=60, min=1,
               help="Seconds kumo-compute waits for kumo-network to allocate or "
                    "release a server's addresses."),
    cfg.StrOpt("networks_path", default="$state_path/networks",
               help="Directory of dnsmasq's per-network files (hosts, options, "
                    "pid and lease files)."),
    cfg.StrOpt("dnsmasq_binary", default="dnsmasq", help="dnsmasq executable."),
    cfg.IntOpt("dhcp_lease_time", default=86400, min=120,
               help="Seconds a DHCP lease is valid."),
    cfg.StrOpt("dhcp_domain", default="novalocal",
               help="Domain name handed to guests by DHCP."),
    cfg.ListOpt("dns_servers", default=[],
                help="DNS servers handed to guests when a network has none of "
                     "its own (empty: the network's gateway, served by dnsmasq)."),
    cfg.StrOpt("metadata_host", default=None,
               help="Address of kumo-api-metadata; guests' 169.254.169.254:80 is "
                    "redirected here. Unset: [api] metadata_listen (127.0.0.1 when "
                    "that is 0.0.0.0). A loopback address works for guests of this "
                    "host: kumo-network sets route_localnet on its bridges."),
    cfg.PortOpt("metadata_port", default=None,
                help="Port of kumo-api-metadata (unset: [api] metadata_port)."),
    cfg.BoolOpt("multi_host", default=False,
                help="Run kumo-network on every compute host, each serving its own "
                     "instances' gateway and DHCP."),
]


# nova-network's [DEFAULT] option, under its own name.
default_opts = [
    cfg.IntOpt("fixed_ip_disassociate_timeout", default=600, min=0,
               help="Seconds a released fixed IP stays associated with the server that "
                    "held it before it may be handed to another one (while free "
                    "addresses are left): the metadata service's cache and the old "
                    "guest's DHCP lease must not reach the next server. kumo-network "
                    "disassociates expired ones periodically; 0 disassociates at once."),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    conf.register_group(network_group)
    conf.register_opts(opts, group=network_group)
    conf.register_opts(default_opts)


def list_opts() -> dict:
    return {network_group: opts, "DEFAULT": default_opts}

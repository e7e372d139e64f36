"""[scheduler] options of kumo-scheduler (and the conductor's retries)."""

from oslo_config import cfg

scheduler_group = cfg.OptGroup("scheduler", title="Scheduler options")

opts = [
    cfg.IntOpt("max_attempts", default=3, min=1,
               help="Hosts to try for one server build: the chosen one plus alternates."),
    cfg.ListOpt("enabled_filters",
                default=["ComputeFilter", "AvailabilityZoneFilter", "RamFilter", "DiskFilter",
                         "CoreFilter", "AggregateInstanceExtraSpecsFilter",
                         "ServerGroupAntiAffinityFilter", "ServerGroupAffinityFilter",
                         "ImagePropertiesFilter"],
                help="Filters a host must pass, in this order."),
    cfg.FloatOpt("ram_weight_multiplier", default=1.0,
                 help="Weight of free RAM; positive spreads, negative packs."),
    cfg.FloatOpt("cpu_weight_multiplier", default=1.0,
                 help="Weight of free vCPUs; positive spreads, negative packs."),
    cfg.FloatOpt("disk_weight_multiplier", default=1.0,
                 help="Weight of free disk; positive spreads, negative packs."),
    cfg.FloatOpt("cpu_allocation_ratio", default=16.0, min=0.0,
                 help="vCPUs per physical CPU, unless the node sets its own."),
    cfg.FloatOpt("ram_allocation_ratio", default=1.5, min=0.0,
                 help="Virtual RAM per physical RAM, unless the node sets its own."),
    cfg.FloatOpt("disk_allocation_ratio", default=1.0, min=0.0,
                 help="Virtual disk per physical disk, unless the node sets its own."),
    cfg.FloatOpt("host_state_refresh_interval", default=5.0, min=0.0,
                 help="Seconds between refreshes of the cached host states from the "
                      "conductor (only changed nodes are fetched)."),
    cfg.FloatOpt("host_state_full_refresh_interval", default=60.0, min=0.0,
                 help="Seconds between full refreshes of the cached host states (which "
                      "also forget nodes that are gone); in between only changed nodes "
                      "are fetched."),
    cfg.IntOpt("max_claim_races", default=10, min=1,
               help="Claims that may fail for one server (another scheduler took the "
                    "resources first) before the request fails with NoValidHost."),
    cfg.FloatOpt("select_destinations_timeout", default=180.0, min=1.0,
                 help="Seconds the conductor waits for select_destinations to answer "
                      "(one decision for a whole multi-create, claims included)."),
    cfg.StrOpt("default_availability_zone", default="nova",
               help="Availability zone of hosts in no zone-bearing aggregate."),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    conf.register_group(scheduler_group)
    conf.register_opts(opts, group=scheduler_group)


def list_opts() -> dict:
    return {scheduler_group: opts}

"""[DEFAULT] options shared by every kumo service."""

import socket

from oslo_config import cfg

opts = [
    cfg.StrOpt(
        "host",
        default=socket.gethostname(),
        sample_default="<current_hostname>",
        help="Name of this host: the service rows this process registers and "
        "the RPC topic suffix (compute.<host>) use it.",
    ),
    cfg.StrOpt(
        "state_path",
        default="/var/lib/kumo",
        help="Top-level directory for the state kumo keeps on this host.",
    ),
    cfg.IntOpt(
        "report_interval",
        default=10,
        min=1,
        help="Seconds between two heartbeats of a service. Must be smaller than "
        "service_down_time.",
    ),
    cfg.IntOpt(
        "service_down_time",
        default=60,
        min=1,
        help="A service whose last heartbeat is older than this many seconds is down.",
    ),
    cfg.IntOpt(
        "graceful_shutdown_timeout",
        default=60,
        min=0,
        help="On SIGTERM a service stops taking new work and waits at most this "
        "many seconds for work in flight before it exits.",
    ),
    cfg.StrOpt(
        "rpc_executor",
        default="threading",
        choices=["threading", "eventlet"],
        help="How RPC servers dispatch incoming messages: native threads "
        "(default) or eventlet green threads (needs the eventlet extra and a "
        "monkey-patched process). The pool size is oslo.messaging's "
        "executor_thread_pool_size.",
    ),
    cfg.IntOpt(
        "rpc_call_monitor_timeout",
        default=20,
        min=0,
        help="Seconds an RPC caller waits for a sign of life of the server that "
        "runs its call (the server heartbeats every half of this while it works). "
        "A call that gets none - the server that took it was killed, or nothing "
        "consumes its topic - fails after this many seconds instead of "
        "rpc_response_timeout; a read or another idempotent call is sent again "
        "(to a restarted server), within rpc_response_timeout in all. A call "
        "that waits this long in a busy server's queue fails too: keep it well "
        "above the server's normal queueing delay. 0: off.",
    ),
    cfg.BoolOpt(
        "rpc_direct_calls",
        default=True,
        help="Send the conductor calls made most (kumo-api's reads of servers "
        "and flavors, the writes of a boot and a delete) over RabbitMQ's direct "
        "reply-to, one publish and one delivery per call, served by a few "
        "threads of each kumo-conductor worker (kumo/rpc_direct.py); a call the "
        "direct path cannot take goes the usual oslo.messaging way. Off: every "
        "call goes that way. Needs a rabbit:// transport_url without TLS.",
    ),
    cfg.IntOpt(
        "rpc_direct_threads",
        default=4,
        min=0,
        help="Threads (each with its own broker connection) a kumo-conductor "
        "worker serves the direct calls with. 0: none.",
    ),
    cfg.IntOpt(
        "periodic_interval",
        default=10,
        min=1,
        help="Seconds between runs of the periodic task loop.",
    ),
    cfg.IntOpt(
        "shutdown_timeout",
        default=60,
        min=0,
        help="Seconds a stop (and a shelve or soft delete) waits for the guest OS to "
        "shut down after an ACPI power-button request before the guest is powered "
        "off forcibly. 0 powers it off at once. The image property "
        "os_shutdown_timeout overrides it per image.",
    ),
    cfg.IntOpt(
        "reclaim_instance_interval",
        default=0,
        min=0,
        help="Seconds a deleted server is kept (SOFT_DELETED, restorable with the "
        "restore action) before kumo-compute reclaims it. 0 deletes servers at once.",
    ),
    cfg.IntOpt(
        "shelved_offload_time",
        default=0,
        min=-1,
        help="Seconds a shelved server keeps its guest and its host's resources "
        "(SHELVED) before kumo-compute offloads it (SHELVED_OFFLOADED: guest "
        "destroyed, resources given back). 0 offloads at once; -1 never.",
    ),
    # Nova's names and meaning; the default differs (Nova: the number of CPUs),
    # see docs/decisions.md "Worker processes".
    cfg.IntOpt(
        "osapi_compute_workers",
        default=1,
        min=1,
        help="Processes kumo-api serves the compute API with. They share the "
        "listening socket (the kernel hands each connection to one of them), so "
        "more than one lets the API use more than one CPU. 1: a single process, "
        "no fork. Each worker holds its own caches and ~65 MB of memory.",
    ),
    cfg.IntOpt(
        "metadata_workers",
        default=1,
        min=1,
        help="Processes kumo-api-metadata serves the metadata API with (sharing "
        "the listening socket). 1: a single process, no fork.",
    ),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    conf.register_opts(opts)


def list_opts() -> dict:
    return {"DEFAULT": opts}

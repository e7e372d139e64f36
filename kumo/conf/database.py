"""[database] options: the SQL database only kumo-conductor and kumo-manage open."""

from oslo_config import cfg

database_group = cfg.OptGroup("database", title="Database options")

opts = [
    cfg.StrOpt(
        "connection",
        secret=True,
        default="sqlite:///$state_path/kumo.sqlite",
        help="SQLAlchemy URL of the database, e.g. "
        "postgresql+psycopg2://kumo:secret@db/kumo.",
    ),
    cfg.BoolOpt(
        "sqlite_wal",
        default=True,
        help="Put SQLite databases in write-ahead-log mode so readers do not "
        "block the writer.",
    ),
    cfg.IntOpt(
        "sqlite_busy_timeout",
        default=30000,
        min=0,
        help="Milliseconds an SQLite statement waits for a lock before failing.",
    ),
    cfg.IntOpt("max_pool_size", default=10, min=1, help="Connections kept in the pool."),
    cfg.IntOpt(
        "max_overflow", default=20, min=0, help="Connections allowed beyond max_pool_size."
    ),
    cfg.BoolOpt("connection_debug", default=False, help="Log every SQL statement."),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    conf.register_group(database_group)
    conf.register_opts(opts, group=database_group)


def list_opts() -> dict:
    return {database_group: opts}

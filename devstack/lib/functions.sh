# shellcheck shell=bash
# Shared helpers of devstack/stack.sh, devstack/unstack.sh and tools/run_tests.sh.
#
# Source this file; it defines functions and a few variables and runs nothing.
# Callers set `set -euo pipefail` themselves.

# Repository root: this file lives in <repo>/devstack/lib/.
KUMO_REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
KUMO_VENV=${KUMO_VENV:-$KUMO_REPO/.venv}

# The eleven daemons, kumo-conductor first: it is the only one that opens the
# database, and every other daemon registers its service row through it.
# shellcheck disable=SC2034  # used by the scripts that source this file
KUMO_DAEMONS=(
    kumo-conductor
    kumo-scheduler
    kumo-compute
    kumo-network
    kumo-cert
    kumo-consoleauth
    kumo-api
    kumo-api-metadata
    kumo-novncproxy
    kumo-spicehtml5proxy
    kumo-xvpvncproxy
)

# ---------------------------------------------------------------- messages --

log() {
    printf '%s %s\n' "$(date +%H:%M:%S)" "$*"
}

warn() {
    printf '%s WARNING: %s\n' "$(date +%H:%M:%S)" "$*" >&2
}

die() {
    printf '%s ERROR: %s\n' "$(date +%H:%M:%S)" "$*" >&2
    exit 1
}

is_root() {
    [[ $(id -u) -eq 0 ]]
}

# Seconds since the epoch; used by callers to time their phases.
now() {
    date +%s
}

# ------------------------------------------------------------------- apt --

# Print the packages among "$@" that dpkg does not list as installed.
apt_missing_packages() {
    local pkg
    for pkg in "$@"; do
        if [[ $(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null) != "install ok installed" ]]; then
            printf '%s\n' "$pkg"
        fi
    done
}

# Install the packages of "$@" that are missing. Does nothing (and does not
# touch the network) when all are present, so a second run stays fast. As a
# non-root user it can only report what is missing.
apt_ensure_packages() {
    local -a missing
    mapfile -t missing < <(apt_missing_packages "$@")
    if [[ ${#missing[@]} -eq 0 ]]; then
        return 0
    fi
    if ! is_root; then
        die "missing Debian packages: ${missing[*]} — run as root, or install them first:" \
            "sudo apt-get install -y ${missing[*]}"
    fi
    log "installing Debian packages: ${missing[*]}"
    # Another apt/dpkg may be running (an unattended upgrade, another
    # script): wait for its locks instead of failing. DPkg::Lock::Timeout
    # covers the dpkg lock; `apt-get update` takes the lists lock without
    # waiting, hence the retry loop around it.
    local -a apt_opts=(-o DPkg::Lock::Timeout=600 -o Dpkg::Use-Pty=0)
    local try
    for try in 1 2 3 4 5 6 7 8 9 10; do
        if apt-get "${apt_opts[@]}" -qq update; then
            break
        fi
        [[ $try -lt 10 ]] || die "apt-get update failed 10 times"
        warn "apt-get update failed (another apt running?); retrying in 10 s"
        sleep 10
    done
    DEBIAN_FRONTEND=noninteractive apt-get "${apt_opts[@]}" install -y -q \
        --no-install-recommends "${missing[@]}" >/dev/null ||
        die "apt-get install ${missing[*]} failed"
}

# `python3 -m venv` needs ensurepip, which Debian ships separately in
# python3-venv. Install it only when venv creation would fail.
ensure_python_venv_support() {
    command -v python3 >/dev/null || die "python3 is not installed"
    if python3 -c 'import ensurepip, venv' 2>/dev/null; then
        return 0
    fi
    if [[ $(command -v python3) != /usr/bin/python3 ]]; then
        die "$(command -v python3) has no ensurepip/venv module, and it is not Debian's" \
            "python3 (python3-venv would not help): install venv support for it"
    fi
    apt_ensure_packages python3-venv
}

# ------------------------------------------------------------ virtualenv --

# Create $KUMO_VENV if it is missing or broken, and `pip install -e` the
# repository into it with the extras given as $1 (e.g. "test", or "" for
# none). The install is skipped when pyproject.toml is the same as at the
# last successful install and that install covered the extras asked for
# (tools/run_tests.sh installs [test], which serves stack.sh as well): an
# editable install picks up code changes by itself, only new dependencies or
# entry points need pip. KUMO_REINSTALL=1 forces pip to run.
ensure_venv() {
    local extras=${1:-}
    local py=$KUMO_VENV/bin/python
    local stamp=$KUMO_VENV/.kumo-install-stamp
    local target=$KUMO_REPO

    ensure_python_venv_support
    if ! "$py" -c 'import sys' 2>/dev/null; then
        if [[ -e $KUMO_VENV && ! -O $KUMO_VENV ]]; then
            # Not ours to replace: most likely created by root (sudo), with
            # an interpreter this user cannot run.
            die "$KUMO_VENV exists but its python does not run for $(id -un), and it" \
                "belongs to another user; remove it or run as its owner"
        fi
        log "creating virtualenv $KUMO_VENV"
        rm -rf "$KUMO_VENV"
        python3 -m venv "$KUMO_VENV"
    fi
    if [[ -n $extras ]]; then
        target="${KUMO_REPO}[$extras]"
    fi

    # The stamp holds "<sha256 of pyproject.toml + constraints> <extras installed>".
    local hash stamp_hash="" stamp_extras=""
    hash=$(cat "$KUMO_REPO/pyproject.toml" "$KUMO_REPO/upper-constraints.txt" | sha256sum | cut -d' ' -f1)
    if [[ -f $stamp ]]; then
        read -r stamp_hash stamp_extras <"$stamp" || true
    fi
    if [[ ${KUMO_REINSTALL:-0} != 1 && $stamp_hash == "$hash" ]] &&
        [[ -z $extras || ,$stamp_extras, == *",$extras,"* ]]; then
        log "virtualenv up to date (pyproject.toml and constraints unchanged; KUMO_REINSTALL=1 forces pip)"
        return 0
    fi

    # Editable installs of a pyproject.toml project (PEP 660) need pip >= 21.3;
    # upgrade pip only when it is older than that.
    if ! "$py" - <<'EOF'
import sys
from importlib.metadata import version
major, minor = (int(x) for x in version("pip").split(".")[:2])
sys.exit(0 if (major, minor) >= (21, 3) else 1)
EOF
    then
        log "upgrading pip in the virtualenv"
        "$py" -m pip install -q --upgrade pip
    fi

    log "pip install -e '.${target#"$KUMO_REPO"}' into $KUMO_VENV"
    rm -f "$stamp"
    PIP_DISABLE_PIP_VERSION_CHECK=1 "$py" -m pip install -q \
        -c "$KUMO_REPO/upper-constraints.txt" -e "$target"
    printf '%s %s\n' "$hash" "$extras" >"$stamp"
}

# --------------------------------------------------------------- network --

# True when something accepts TCP connections on 127.0.0.1:$1.
port_open() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# Wait until 127.0.0.1:$1 accepts connections, at most $2 seconds.
wait_for_port() {
    local port=$1 timeout=$2 waited=0
    until port_open "$port"; do
        ((waited < timeout)) || return 1
        sleep 1
        waited=$((waited + 1))
    done
}

# -------------------------------------------------------------- rabbitmq --

# Loopback-only broker: AMQP, epmd and the Erlang distribution port all bind
# 127.0.0.1 (without the last variable, port 25672 listens everywhere).
rabbitmq_env() {
    export RABBITMQ_NODE_IP_ADDRESS=127.0.0.1
    export ERL_EPMD_ADDRESS=127.0.0.1
    export RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"
}

rabbitmq_running() {
    rabbitmq-diagnostics -q ping >/dev/null 2>&1
}

# Start the default RabbitMQ node on 127.0.0.1:5672 unless it already runs.
# There is no init system to ask, so the server is started by hand, in its own
# session so that it outlives this shell. $1 is the marker file: it is written
# (holding the server's pid) only when we started the node, so that
# unstack.sh stops only a broker that stack.sh started. $2 is the log file.
rabbitmq_start() {
    local marker=$1 logfile=$2
    rabbitmq_env
    # epmd outlives the node, so unstack.sh stops it only if it was not
    # running before. Look now: the first rabbitmq-diagnostics call below
    # starts an epmd of its own.
    local epmd_before=no
    if epmd -names >/dev/null 2>&1; then
        epmd_before=yes
    fi
    if rabbitmq_running; then
        log "RabbitMQ already running: reusing it"
        return 0
    fi
    is_root || die "RabbitMQ is not running and only root may start it: run as root"
    if port_open 5672; then
        die "something already listens on 127.0.0.1:5672 but the default RabbitMQ" \
            "node does not answer 'rabbitmq-diagnostics ping'; stop it or free the port"
    fi
    log "starting RabbitMQ (log: $logfile)"
    local started
    started=$(now)
    setsid rabbitmq-server >"$logfile" 2>&1 </dev/null &
    printf 'pid=%s\nepmd_before=%s\n' "$!" "$epmd_before" >"$marker"

    until rabbitmq_running; do
        if ! pid_alive "$(marker_value "$marker" pid)" rabbitmq; then
            rm -f "$marker"
            tail -n 20 "$logfile" >&2 || true
            die "rabbitmq-server exited during start; see $logfile"
        fi
        (($(now) - started < 60)) || die "RabbitMQ did not answer ping within 60 s; see $logfile"
        sleep 1
    done
    # The AMQP listener opens a few seconds after the node answers ping.
    wait_for_port 5672 60 || die "RabbitMQ answers ping but port 5672 stays closed; see $logfile"
    log "RabbitMQ up after $(($(now) - started))s"
}

# Read `key=value` from a marker file written by rabbitmq_start.
marker_value() {
    sed -n "s/^$2=//p" "$1"
}

# Create vhost $1 and user $2 (password $3) with full rights on it; safe to
# repeat.
rabbitmq_ensure_vhost_user() {
    local vhost=$1 user=$2 password=$3
    if ! rabbitmqctl -q list_vhosts name | grep -qxF "$vhost"; then
        rabbitmqctl -q add_vhost "$vhost" >/dev/null
    fi
    if ! rabbitmqctl -q list_users | awk '{print $1}' | grep -qxF "$user"; then
        rabbitmqctl -q add_user "$user" "$password" >/dev/null
    else
        # Keep the password in step with the config we are about to write.
        rabbitmqctl -q change_password "$user" "$password" >/dev/null
    fi
    rabbitmqctl -q set_permissions -p "$vhost" "$user" ".*" ".*" ".*" >/dev/null
}

# Stop the RabbitMQ node if (and only if) marker file $1 says we started it.
rabbitmq_stop() {
    local marker=$1
    if [[ ! -f $marker ]]; then
        log "RabbitMQ was not started by devstack: leaving it alone"
        return 0
    fi
    rabbitmq_env
    local pid epmd_before
    pid=$(marker_value "$marker" pid)
    epmd_before=$(marker_value "$marker" epmd_before)
    if rabbitmq_running; then
        log "stopping RabbitMQ"
        rabbitmqctl -q stop >/dev/null 2>&1 || warn "rabbitmqctl stop failed"
    fi
    # The pid is the session leader of the whole server process tree (a
    # wrapper script, su, the Erlang VM): wait for it, then sweep the group.
    if [[ -n $pid ]] && ! wait_pid_exit "$pid" 30; then
        warn "RabbitMQ (pid $pid) still running after 30 s: killing its process group"
        kill -KILL -- "-$pid" 2>/dev/null || true
    fi
    if [[ $epmd_before == no ]] && [[ -z $(epmd -names 2>/dev/null | sed -n 's/^name //p') ]]; then
        epmd -kill >/dev/null 2>&1 || true
    fi
    rm -f "$marker"
}

# --------------------------------------------------------------- daemons --

# True when process $1 is alive (not a zombie) and its command line mentions
# $2. Checking the command line keeps a recycled pid from passing for ours.
pid_alive() {
    local pid=$1 name=$2
    [[ $pid =~ ^[0-9]+$ ]] || return 1
    kill -0 "$pid" 2>/dev/null || return 1
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$name"
}

# True when pid file $1 names a live process whose command line mentions $2.
pidfile_alive() {
    [[ -f $1 ]] && pid_alive "$(<"$1")" "$2"
}

# Wait at most $2 seconds for process $1 to exit.
wait_pid_exit() {
    local pid=$1 timeout=$2 waited=0
    while kill -0 "$pid" 2>/dev/null; do
        # A zombie has exited; only its parent has not reaped it yet.
        [[ $(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null) == Z ]] && return 0
        ((waited < timeout * 10)) || return 1
        sleep 0.1
        waited=$((waited + 1))
    done
}

# Start daemon $1 from the virtualenv with config file $2, logging stdout and
# stderr to $3/<daemon>.log and writing its pid to $4/<daemon>.pid. A daemon
# whose pid file names a live process is left alone. Returns 0 when it started
# the daemon, 1 when it was already running.
daemon_start() {
    local name=$1 conf=$2 logdir=$3 piddir=$4
    local pidfile=$piddir/$name.pid
    if pidfile_alive "$pidfile" "$name"; then
        log "$name already running (pid $(<"$pidfile"))"
        return 1
    fi
    [[ -x $KUMO_VENV/bin/$name ]] || die "$KUMO_VENV/bin/$name does not exist (pip install -e . failed?)"
    # setsid: its own session and process group, so the daemon survives this
    # shell and a Ctrl-C in its terminal, and unstack.sh can reach any child
    # it forks through the group. In a non-interactive shell the background
    # child is not a group leader, so setsid execs in place and $! is the
    # daemon's own pid.
    setsid "$KUMO_VENV/bin/$name" --config-file "$conf" >>"$logdir/$name.log" 2>&1 </dev/null &
    printf '%s\n' "$!" >"$pidfile"
    log "started $name (pid $!)"
    return 0
}

# Stop the daemon of pid file $1 (named $2): SIGTERM, which drains in-flight
# work, then SIGKILL to its whole process group after $3 seconds. Removes the
# pid file. Several daemons are stopped in parallel by daemon_stop_many.
daemon_stop() {
    local pidfile=$1 name=$2 timeout=$3 pid
    if ! pidfile_alive "$pidfile" "$name"; then
        rm -f "$pidfile"
        return 0
    fi
    pid=$(<"$pidfile")
    kill -TERM "$pid" 2>/dev/null || true
    if wait_pid_exit "$pid" "$timeout"; then
        log "stopped $name (pid $pid)"
    else
        warn "$name (pid $pid) ignored SIGTERM for ${timeout}s: SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
    fi
    # Children it forked (API workers, helpers) share its process group.
    kill -KILL -- "-$pid" 2>/dev/null || true
    rm -f "$pidfile"
}

# Stop the daemons named in "${@:3}" in parallel; $1 is the pid directory, $2
# the timeout in seconds.
daemon_stop_many() {
    local piddir=$1 timeout=$2 name
    shift 2
    local -a jobs=()
    for name in "$@"; do
        daemon_stop "$piddir/$name.pid" "$name" "$timeout" &
        jobs+=("$!")
    done
    local job
    for job in "${jobs[@]}"; do
        wait "$job" || true
    done
}

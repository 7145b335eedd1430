#!/usr/bin/env bash
# Stop the single-node Slurm cluster started by start_cluster.sh, daemon by daemon
# via the pid files in the state dir.  Idempotent: missing/stale pid files are
# ignored.  Data (accounting DB, spool, logs) is kept; pass --purge to delete
# the state dir as well.
#
#   CIMSWEEP_SLURM_DIR  state dir [/tmp/cimsweep-slurm]
set -euo pipefail

STATE="${CIMSWEEP_SLURM_DIR:-/tmp/cimsweep-slurm}"
PURGE=0
[[ "${1:-}" == "--purge" ]] && PURGE=1
T0=$EPOCHREALTIME

log() { echo "[stop_cluster] $*"; }

stop_pidfile() { # stop_pidfile NAME PIDFILE
    local name=$1 pf=$2 pid t0=$EPOCHREALTIME
    if [[ ! -s "$pf" ]]; then
        log "$name: no pid file"
        return 0
    fi
    pid=$(cat "$pf")
    if ! kill -0 "$pid" 2>/dev/null; then
        log "$name: not running (stale pid $pid)"
        rm -f "$pf"
        return 0
    fi
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 100); do          # up to 20 s
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.2
    done
    if kill -0 "$pid" 2>/dev/null; then
        log "$name: pid $pid ignored SIGTERM, sending SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
        sleep 0.2
    fi
    rm -f "$pf"
    awk -v n="$name" -v p="$pid" -v a="$t0" -v b="$EPOCHREALTIME" \
        'BEGIN { printf "[stop_cluster] %s: stopped (pid %s) in %.2fs\n", n, p, b - a }'
}

# reverse start order (Slurm daemons, then slurmdbd so that slurmctld can
# flush its last records, then the DB and munge); each daemon needs ~2 s to
# exit, so the members of a stage are stopped in parallel
stop_pidfile slurmd    "$STATE/run/slurmd.pid" &
stop_pidfile slurmctld "$STATE/run/slurmctld.pid" &
wait
stop_pidfile slurmdbd  "$STATE/run/slurmdbd.pid"
stop_pidfile mariadb   "$STATE/run/mariadb.pid" &
stop_pidfile munged    "$STATE/run/munged.pid" &
wait

if (( PURGE )); then
    rm -rf "$STATE"
    log "purged $STATE"
fi
awk -v a="$T0" -v b="$EPOCHREALTIME" 'BEGIN { printf "[stop_cluster] done in %.2fs\n", b - a }'

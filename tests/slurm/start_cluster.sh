#!/usr/bin/env bash
# Start a real single-node Slurm cluster (slurmctld + slurmd + slurmdbd + MariaDB
# + munge) on localhost, without systemd.  Idempotent: running it again while the
# cluster is up only re-checks that it is healthy.
#
# Environment:
#   CIMSWEEP_SLURM_DIR      state dir (pid files, logs, spool, db)  [/tmp/cimsweep-slurm]
#   CIMSWEEP_SLURM_CLUSTER  cluster name                             [cimsweep]
#   CIMSWEEP_SLURM_DB_PORT  TCP port of the private MariaDB (127.0.0.1) [3306]
#   CIMSWEEP_SLURM_USERS    extra unix users to register in accounting []
#   CIMSWEEP_SLURM_TIMEOUT  seconds to wait for each readiness check [60]
#   CIMSWEEP_SLURM_NO_INSTALL=1  fail instead of apt-get installing missing packages
#
# Config goes to /etc/slurm/{slurm,slurmdbd}.conf (the compiled-in default path of
# Debian's Slurm) so that sbatch/sacct/squeue work for every process without
# SLURM_CONF.  Copies are kept in the state dir.
set -euo pipefail

STATE="${CIMSWEEP_SLURM_DIR:-/tmp/cimsweep-slurm}"
CLUSTER="${CIMSWEEP_SLURM_CLUSTER:-cimsweep}"
TIMEOUT="${CIMSWEEP_SLURM_TIMEOUT:-60}"
ETC=/etc/slurm
DB_NAME=slurm_acct_db
DB_USER=slurm
DB_PASS=slurmdbpass
DB_PORT="${CIMSWEEP_SLURM_DB_PORT:-3306}"
MYSQL_SOCK="$STATE/mysql/mysqld.sock"

# timings: bash 5 $EPOCHREALTIME (no bc needed)
T0=$EPOCHREALTIME
_t_last=$T0
log() { echo "[start_cluster] $*"; }
lap() {
    local now=$EPOCHREALTIME
    awk -v a="$_t_last" -v b="$now" -v t0="$T0" -v what="$1" \
        'BEGIN { printf "[start_cluster] %-36s %6.2fs (total %6.2fs)\n", what, b - a, b - t0 }'
    _t_last=$now
}
die() { echo "[start_cluster] ERROR: $*" >&2; exit 1; }
trap 'echo "[start_cluster] ERROR: command failed (rc=$?) at line $LINENO: $BASH_COMMAND" >&2' ERR

if [[ $EUID -ne 0 ]]; then die "must run as root"; fi

# pid_alive FILE -> 0 if FILE holds the pid of a running process
pid_alive() { [[ -s "$1" ]] && kill -0 "$(cat "$1")" 2>/dev/null; }

wait_for() { # wait_for DESCRIPTION CMD...
    local what=$1; shift
    local deadline=$(( $(date +%s) + TIMEOUT ))
    until "$@" >/dev/null 2>&1; do
        if (( $(date +%s) > deadline )); then
            die "timed out after ${TIMEOUT}s waiting for: $what (logs in $STATE/log)"
        fi
        sleep 0.2
    done
}

# ---------------------------------------------------------------- install ---
need_pkgs=()
command -v munged >/dev/null      || need_pkgs+=(munge)
command -v slurmctld >/dev/null   || need_pkgs+=(slurm-wlm)
command -v slurmdbd >/dev/null    || need_pkgs+=(slurmdbd)
command -v mariadbd >/dev/null || command -v mysqld >/dev/null || need_pkgs+=(mariadb-server)
if (( ${#need_pkgs[@]} )); then
    [[ "${CIMSWEEP_SLURM_NO_INSTALL:-0}" == 1 ]] && die "missing packages: ${need_pkgs[*]}"
    log "apt-get install ${need_pkgs[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq "${need_pkgs[@]}" >/dev/null
fi
lap "packages present (installed: ${need_pkgs[*]:-none})"

mkdir -p "$STATE"/{run,log,mysql,spool/ctld,spool/d,etc}
chmod 755 "$STATE"
chown -R slurm:slurm "$STATE/spool" "$STATE/log"

# ------------------------------------------------------------------ munge ---
if pid_alive "$STATE/run/munged.pid"; then
    :   # ours, running
elif pid_alive /run/munge/munged.pid; then
    # a munged we did not start (e.g. the distro's): use it, never stop it
    log "using already running munged (pid $(cat /run/munge/munged.pid))"
else
    if [[ ! -s /etc/munge/munge.key ]]; then
        if command -v mungekey >/dev/null; then
            mungekey --create --keyfile=/etc/munge/munge.key
        else
            dd if=/dev/urandom bs=1 count=1024 of=/etc/munge/munge.key 2>/dev/null
        fi
    fi
    chown munge:munge /etc/munge/munge.key
    chmod 400 /etc/munge/munge.key
    mkdir -p /run/munge /var/lib/munge /var/log/munge
    chown munge:munge /run/munge /var/lib/munge /var/log/munge
    chmod 755 /run/munge
    # munged refuses to start if its socket exists from a dead instance
    rm -f /run/munge/munge.socket.2 /run/munge/munge.socket.2.lock /run/munge/munged.pid
    # munged daemonizes; --pid-file is written by munged itself (as munge user)
    runuser -u munge -- munged --force --pid-file="/run/munge/munged.pid"
    wait_for "munged pid file" test -s /run/munge/munged.pid
    cp /run/munge/munged.pid "$STATE/run/munged.pid"
fi
wait_for "munge round trip" bash -c 'munge -n | unmunge'
lap "munged up"

# ---------------------------------------------------------------- mariadb ---
MARIADBD=$(command -v mariadbd || command -v mysqld || echo /usr/sbin/mariadbd)
if ! pid_alive "$STATE/run/mariadb.pid"; then
    chown mysql:mysql "$STATE/mysql"
    if [[ ! -d "$STATE/mysql/data/mysql" ]]; then
        mariadb-install-db --user=mysql --datadir="$STATE/mysql/data" \
            --auth-root-authentication-method=socket --skip-test-db \
            >"$STATE/log/mariadb-install.log" 2>&1 \
            || die "mariadb-install-db failed, see $STATE/log/mariadb-install.log"
    fi
    chown -R mysql:mysql "$STATE/mysql"
    # --pid-file is written by mariadbd; run it in the background directly
    nohup "$MARIADBD" --no-defaults --user=mysql \
        --datadir="$STATE/mysql/data" --socket="$MYSQL_SOCK" \
        --pid-file="$STATE/mysql/mariadb.pid" --bind-address=127.0.0.1 --port="$DB_PORT" \
        --skip-name-resolve --innodb-buffer-pool-size=64M \
        --innodb-lock-wait-timeout=900 --max-allowed-packet=16M \
        --log-error="$STATE/log/mariadb.log" </dev/null >/dev/null 2>&1 &
    echo $! >"$STATE/run/mariadb.pid"
fi
wait_for "mariadb socket" mariadb --socket="$MYSQL_SOCK" -uroot -e 'SELECT 1'
mariadb --socket="$MYSQL_SOCK" -uroot <<SQL
CREATE DATABASE IF NOT EXISTS $DB_NAME;
CREATE USER IF NOT EXISTS '$DB_USER'@'localhost' IDENTIFIED BY '$DB_PASS';
CREATE USER IF NOT EXISTS '$DB_USER'@'127.0.0.1' IDENTIFIED BY '$DB_PASS';
GRANT ALL ON $DB_NAME.* TO '$DB_USER'@'localhost';
GRANT ALL ON $DB_NAME.* TO '$DB_USER'@'127.0.0.1';
FLUSH PRIVILEGES;
SQL
lap "mariadb up"

# ------------------------------------------------------------------ config ---
NCPU=$(nproc --all)
# RealMemory a bit below physical memory (slurmd refuses to register the node
# if the configured value exceeds what it detects)
MEM_MB=$(awk '/MemTotal/ {print int($2/1024)}' /proc/meminfo)
REAL_MEM=$(( MEM_MB - MEM_MB / 20 - 256 ))
(( REAL_MEM > 256 )) || REAL_MEM=$(( MEM_MB * 9 / 10 ))

mkdir -p "$ETC"
new_dbd="$STATE/etc/slurmdbd.conf"
cat >"$new_dbd" <<EOF
# written by cimsweep tests/slurm/start_cluster.sh
AuthType=auth/munge
DbdHost=localhost
DbdAddr=127.0.0.1
DbdPort=6819
SlurmUser=slurm
PidFile=$STATE/run/slurmdbd.pid
LogFile=$STATE/log/slurmdbd.log
DebugLevel=info
StorageType=accounting_storage/mysql
# 127.0.0.1 (not "localhost") makes the MySQL client use TCP instead of the
# compiled-in default socket path, which our private mariadbd does not use
StorageHost=127.0.0.1
StoragePort=$DB_PORT
StorageLoc=$DB_NAME
StorageUser=$DB_USER
StoragePass=$DB_PASS
EOF
new_conf="$STATE/etc/slurm.conf"
cat >"$new_conf" <<EOF
# written by cimsweep tests/slurm/start_cluster.sh
ClusterName=$CLUSTER
SlurmctldHost=localhost(127.0.0.1)
SlurmUser=slurm
SlurmctldPort=6817
SlurmdPort=6818
AuthType=auth/munge
StateSaveLocation=$STATE/spool/ctld
SlurmdSpoolDir=$STATE/spool/d
SlurmctldPidFile=$STATE/run/slurmctld.pid
SlurmdPidFile=$STATE/run/slurmd.pid
SlurmctldLogFile=$STATE/log/slurmctld.log
SlurmdLogFile=$STATE/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
SchedulerType=sched/backfill
ReturnToService=2
MpiDefault=none
MailProg=/bin/true
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=localhost
AccountingStoragePort=6819
AccountingStorageEnforce=associations
# record GPU allocations in sacct's AllocTRES
AccountingStorageTRES=gres/gpu
# store sbatch --comment (the Snakemake plugin puts the rule name there)
AccountingStoreFlags=job_comment
JobAcctGatherType=jobacct_gather/linux
# sample every second and kill a job step that uses more memory than it asked
# for (what real clusters do with cgroups): lets the tests see a job killed for
# memory and retried with more
JobAcctGatherFrequency=1
JobAcctGatherParams=OverMemoryKill
JobCompType=jobcomp/none
# keep finished jobs visible to squeue/scontrol for 10 min (> status interval)
MinJobAge=600
SchedulerParameters=batch_sched_delay=0,sched_min_interval=0
SlurmctldTimeout=30
SlurmdTimeout=30
InactiveLimit=0
KillWait=5
Waittime=0
DefMemPerCPU=500
# one countable GPU without a device file (gres.conf below): jobs asking for
# --gpus=1 or --gpus=volta:1 get scheduled although the machine has no GPU
GresTypes=gpu
NodeName=localhost NodeAddr=127.0.0.1 CPUs=$NCPU RealMemory=$REAL_MEM Gres=gpu:volta:1 State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP OverSubscribe=NO
EOF
new_gres="$STATE/etc/gres.conf"
# slurmd wants a device file per GPU; a plain file is accepted (it logs "not a
# valid character or block device" once and counts the GPU anyway)
mkdir -p "$STATE/gpu"
touch "$STATE/gpu/nvidia0"
cat >"$new_gres" <<EOF
# written by cimsweep tests/slurm/start_cluster.sh: a GPU that is only counted
AutoDetect=off
NodeName=localhost Name=gpu Type=volta File=$STATE/gpu/nvidia0
EOF
config_changed=0
if ! cmp -s "$new_conf" "$ETC/slurm.conf" || ! cmp -s "$new_dbd" "$ETC/slurmdbd.conf" \
    || ! cmp -s "$new_gres" "$ETC/gres.conf"; then
    config_changed=1
fi
install -m 644 -o root -g root "$new_conf" "$ETC/slurm.conf"
install -m 644 -o root -g root "$new_gres" "$ETC/gres.conf"
# slurmdbd.conf holds the DB password: must be 600 and owned by SlurmUser
install -m 600 -o slurm -g slurm "$new_dbd" "$ETC/slurmdbd.conf"
# No cgroup.conf on purpose: Slurm 22.05 has no "CgroupPlugin=disabled" (slurmd
# then fails to start); with proctrack/linuxproc + task/none it needs no cgroups.
lap "config written (changed=$config_changed)"

# if the config changed while daemons run (e.g. CPU count), restart them
if (( config_changed )); then
    for d in slurmd slurmctld slurmdbd; do
        if pid_alive "$STATE/run/$d.pid"; then
            log "config changed: stopping running $d"
            kill "$(cat "$STATE/run/$d.pid")" || true
            for _ in $(seq 50); do pid_alive "$STATE/run/$d.pid" || break; sleep 0.2; done
        fi
    done
fi

# --------------------------------------------------------------- slurmdbd ---
if ! pid_alive "$STATE/run/slurmdbd.pid"; then
    rm -f "$STATE/run/slurmdbd.pid"
    # slurmdbd daemonizes and writes PidFile itself
    slurmdbd
    wait_for "slurmdbd pid file" test -s "$STATE/run/slurmdbd.pid"
fi
# sacctmgr can sit in an endless "(N/y)" prompt loop when stdin is not a tty:
# always pass -i for changes, </dev/null and a timeout for everything.
smgr() { timeout 30 sacctmgr "$@" </dev/null; }
wait_for "slurmdbd answers (sacctmgr)" smgr -n show cluster
lap "slurmdbd up"

# cluster / account / user associations (the cluster must exist before
# slurmctld registers; AccountingStorageEnforce=associations needs the users)
smgr -n -P show cluster format=cluster | grep -qx "$CLUSTER" \
    || smgr -i add cluster "$CLUSTER" >/dev/null
assocs=$(smgr -n -P show assoc format=cluster,account,user)
grep -qx "$CLUSTER|cimsweep|" <<<"$assocs" \
    || smgr -i add account cimsweep cluster="$CLUSTER" \
        description="cimsweep tests" organization=cimsweep >/dev/null
for u in root ${SUDO_USER:-} ${CIMSWEEP_SLURM_USERS:-}; do
    grep -qx "$CLUSTER|cimsweep|$u" <<<"$assocs" \
        || smgr -i add user "$u" account=cimsweep defaultaccount=cimsweep \
            cluster="$CLUSTER" >/dev/null
done
lap "accounting associations"

# -------------------------------------------------------------- slurmctld ---
if ! pid_alive "$STATE/run/slurmctld.pid"; then
    rm -f "$STATE/run/slurmctld.pid"
    # slurmctld daemonizes (drops to SlurmUser) and writes SlurmctldPidFile
    slurmctld
    wait_for "slurmctld pid file" test -s "$STATE/run/slurmctld.pid"
fi
wait_for "slurmctld answers (scontrol ping)" bash -c 'scontrol ping | grep -q UP'
lap "slurmctld up"

# ----------------------------------------------------------------- slurmd ---
if ! pid_alive "$STATE/run/slurmd.pid"; then
    rm -f "$STATE/run/slurmd.pid"
    # the machine's hostname is not "localhost": tell slurmd which node it is
    slurmd -N localhost
    wait_for "slurmd pid file" test -s "$STATE/run/slurmd.pid"
fi
node_ready() {
    local st
    st=$(sinfo -h -N -n localhost -o '%T' 2>/dev/null) || return 1
    case "$st" in
        idle*|mixed*|allocated*|completing*) return 0 ;;
        down*|drain*)
            # e.g. left down by an unclean shutdown: bring it back
            scontrol update nodename=localhost state=resume >/dev/null 2>&1 || true
            return 1 ;;
        *) return 1 ;;
    esac
}
wait_for "node localhost idle in sinfo" node_ready
wait_for "sacct answers" sacct -n -X -S now-1minute
lap "slurmd up, node ready"

sinfo
log "cluster '$CLUSTER' ready; state in $STATE, config in $ETC/slurm.conf"
lap "done"

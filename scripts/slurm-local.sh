#!/usr/bin/env bash
# A single-node Slurm on this machine, for robbench's Slurm tests: installs Debian's slurmctld,
# slurmd and munge when missing (root and apt needed), writes a slurm.conf under STATE_DIR and
# starts munged, slurmctld and slurmd unless they already answer. Prints `export SLURM_CONF=...`.
#
#   scripts/slurm-local.sh up [STATE_DIR]     (default STATE_DIR: $ROBBENCH_CACHE/slurm)
#   scripts/slurm-local.sh down [STATE_DIR]   stops the daemons it started, by their PIDs
set -euo pipefail
cmd="${1:-up}"
state="${2:-${ROBBENCH_CACHE:-$HOME/.cache/robbench}/slurm}"
conf="$state/slurm.conf"
mkdir -p "$state"

stop() {
    for pid in "$state"/slurmd.pid "$state"/slurmctld.pid "$state"/munged.pid; do
        [[ -f $pid ]] && kill "$(cat "$pid")" 2>/dev/null || true
        rm -f "$pid"
    done
}
if [[ $cmd == down ]]; then stop; exit 0; fi

fail() { echo "slurm-local: $*" >&2; exit 1; }

if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null || ! command -v munged >/dev/null || ! command -v sbatch >/dev/null; then
    [[ $(id -u) == 0 ]] || fail "Slurm is not installed and installing it needs root (apt-get install slurmctld slurmd slurm-client munge)"
    command -v apt-get >/dev/null || fail "Slurm is not installed and there is no apt-get to install it"
    apt-get update -qq >/dev/null 2>&1 || true
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        slurmctld slurmd slurm-client munge >/dev/null || fail "apt-get install of Slurm failed"
fi
[[ $(id -u) == 0 ]] || fail "slurmd must run as root to start jobs"

cpus=4
mem=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 / 2 ))
cat > "$conf.new" <<CONF
ClusterName=robbench
SlurmctldHost=localhost(127.0.0.1)
SlurmUser=root
AuthType=auth/munge
AuthInfo=cred_expire=10
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerParameters=sched_interval=2
ReturnToService=2
MailProg=/bin/true
MinJobAge=3600
KillWait=30
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/filetxt
JobCompLoc=$state/jobcomp.txt
StateSaveLocation=$state/ctld
SlurmdSpoolDir=$state/d
SlurmctldPidFile=$state/slurmctld.pid
SlurmdPidFile=$state/slurmd.pid
SlurmctldLogFile=$state/slurmctld.log
SlurmdLogFile=$state/slurmd.log
SlurmdParameters=config_overrides
NodeName=localhost NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
CONF
mkdir -p "$state/ctld" "$state/d"
if ! cmp -s "$conf.new" "$conf"; then
    mv "$conf.new" "$conf"
    stop
else
    rm -f "$conf.new"
fi
export SLURM_CONF="$conf"

if ! runuser -u munge -- true 2>/dev/null; then fail "there is no munge user (is munge installed?)"; fi
if ! munge -n </dev/null >/dev/null 2>&1; then
    mkdir -p /run/munge && chown munge:munge /run/munge && chmod 755 /run/munge
    [[ -f /etc/munge/munge.key ]] || { /usr/sbin/mungekey --create 2>/dev/null || dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 2>/dev/null; chown munge:munge /etc/munge/munge.key; chmod 400 /etc/munge/munge.key; }
    runuser -u munge -- /usr/sbin/munged
    pgrep -u munge -x munged > "$state/munged.pid" || true
    for _ in $(seq 50); do munge -n </dev/null >/dev/null 2>&1 && break; sleep 0.1; done
    munge -n </dev/null >/dev/null 2>&1 || fail "munged does not answer"
fi
if ! timeout 5 scontrol ping 2>/dev/null | grep -q "is UP"; then
    # -c: jobs saved by a controller of an earlier machine or session (the state folder lives in
    # the cache) would otherwise be recovered and hold the node's CPUs.
    slurmctld -c -f "$conf" || fail "slurmctld did not start (see $state/slurmctld.log)"
fi
if ! timeout 5 sinfo -h -o %T 2>/dev/null | grep -qE "idle|mix|alloc"; then
    [[ -f $state/slurmd.pid ]] && kill -0 "$(cat "$state/slurmd.pid")" 2>/dev/null || slurmd -f "$conf" || fail "slurmd did not start (see $state/slurmd.log)"
fi
for _ in $(seq 100); do
    timeout 5 sinfo -h -o %T 2>/dev/null | grep -qE "idle|mix|alloc" && { echo "export SLURM_CONF=$conf"; exit 0; }
    sleep 0.2
done
fail "the node did not come up (see $state/slurmd.log and $state/slurmctld.log)"

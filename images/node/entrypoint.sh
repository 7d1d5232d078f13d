#!/usr/bin/env bash
# Starts one lab node in the foreground. Slurm: munge, then slurmctld (leader) or
# slurmd (worker). Mesos: mesos-master (leader) or mesos-agent (worker). Role,
# batch system and lab facts come from the environment set by compose.yaml.
set -euo pipefail

# The in-node paths, from innode/ (the image wrote this file: innode/entrypoint_env.py).
# shellcheck source=/dev/null
. /etc/toil-lab/layout.env

role=${LAB_ROLE:?LAB_ROLE must be leader or worker}
batch_system=${LAB_BATCH_SYSTEM:-slurm}
secrets=/etc/lab-secrets
key=$secrets/munge.key

install_munge_key() {
  # The key is made once per lab, by the leader, on the lab's secrets volume:
  # never in an image layer. Workers wait for it.
  if [[ $role == leader && ! -s $key ]]; then
    (umask 077 && head -c 1024 /dev/urandom > "$key.tmp" && mv "$key.tmp" "$key")
  fi
  local deadline=$((SECONDS + ${LAB_KEY_WAIT_SECONDS:-120}))
  until [[ -s $key ]]; do
    if (( SECONDS >= deadline )); then
      echo "lab-entrypoint: no munge key at $key; is the leader up?" >&2
      exit 1
    fi
    sleep 0.1
  done
  install -o munge -g munge -m 0400 "$key" /etc/munge/munge.key
}

start_munge() {
  install -d -o munge -g munge -m 0755 /run/munge
  runuser -u munge -- /usr/sbin/munged
}

# Python's placement recorder and slurm.conf renderer live in the image.
mkdir -p "$LAB_PLACEMENT_DIR" "$LAB_TOIL_WORK_DIR" && chmod 1777 "$LAB_PLACEMENT_DIR" "$LAB_TOIL_WORK_DIR"

# Runs a daemon in the foreground and starts it again when it exits (`lab fault
# restart-scheduler` restarts slurmctld on purpose); docker stop's SIGTERM ends both.
supervise() {
  local child stopping=0
  trap 'stopping=1; kill -TERM "$child" 2>/dev/null' TERM INT
  while :; do
    "$@" &
    child=$!
    wait "$child" || true
    wait "$child" 2>/dev/null || true
    if ((stopping)); then exit 0; fi
    echo "lab-entrypoint: $1 exited; starting it again" >&2
    sleep 1  # back off, so that a daemon that cannot start does not spin
  done
}

start_slurm() {
  install_munge_key
  start_munge
  case $role in
    leader)
      install -d -o slurm -g slurm "$LAB_SLURMCTLD_STATE_DIR"
      python3 -m innode.slurm_conf > "$LAB_SLURM_CONF"
      supervise /usr/sbin/slurmctld -D -i
      ;;
    worker)
      install -d "$LAB_SLURMD_SPOOL_DIR"
      # Configless: slurmd fetches slurm.conf from slurmctld, so scaling the lab
      # changes only the leader's configuration.
      supervise /usr/sbin/slurmd -D --conf-server leader
      ;;
  esac
}

start_mesos() {
  # The Mesos image (images/mesos) records where its package put the daemons.
  local env_file=/etc/toil-lab/mesos.env
  if [[ ! -r $env_file ]]; then
    echo "lab-entrypoint: LAB_BATCH_SYSTEM=mesos, but this image has no Mesos ($env_file is missing):" \
         "run the lab with \`lab up\`, which builds the Mesos image from MESOS_PACKAGE" >&2
    exit 2
  fi
  # shellcheck source=/dev/null
  . "$env_file"
  export LAB_MESOS_MASTER LAB_MESOS_AGENT LAB_MESOS_LAUNCHER_DIR
  install -d "$LAB_MESOS_DIR"
  if [[ $role == worker ]]; then
    # An agent recovers its checkpointed identity from its work directory (on the
    # worker's volume), and refuses to start if what it offers changed, e.g.
    # SLOTS_PER_CPU. A recreated container runs none of the old one's executors:
    # its agent registers as a new agent. A restarted one (`lab heal`) recovers.
    local marker=$LAB_MESOS_DIR/agent-container this
    this=$(grep -o -m 1 '/containers/[0-9a-f]\{64\}/' /proc/self/mountinfo | cut -d/ -f3 || true)
    if [[ $(cat "$marker" 2>/dev/null) != "$this" ]]; then
      rm -f "$LAB_MESOS_AGENT_WORK_DIR/meta/slaves/latest"
      echo "$this" > "$marker"
    fi
  fi
  # One interpreter renders the daemon's flags and its libprocess addresses and execs the
  # daemon; a daemon started again binds the container's current address (`lab heal`).
  supervise python3 -m innode.mesos_daemons start "$role"
}

case $role in
  leader | worker) ;;
  *)
    echo "lab-entrypoint: unknown LAB_ROLE '$role'" >&2
    exit 2
    ;;
esac

case $batch_system in
  slurm) start_slurm ;;
  mesos) start_mesos ;;
  *)
    echo "lab-entrypoint: unknown LAB_BATCH_SYSTEM '$batch_system' (slurm or mesos)" >&2
    exit 2
    ;;
esac

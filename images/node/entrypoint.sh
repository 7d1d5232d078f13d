#!/usr/bin/env bash
# Starts one lab node: munge, then slurmctld (leader) or slurmd (worker) in the
# foreground. Role and lab facts come from the environment set by compose.yaml.
set -euo pipefail

role=${LAB_ROLE:?LAB_ROLE must be leader or worker}
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

install_munge_key
start_munge

# Python's placement recorder and slurm.conf renderer live in the image.
mkdir -p /var/lib/lab/placement /var/lib/lab/toil-work && chmod 1777 /var/lib/lab/placement /var/lib/lab/toil-work

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

case $role in
  leader)
    install -d -o slurm -g slurm /var/lib/lab/slurmctld
    python3 -m lab.slurm render-conf > /etc/slurm/slurm.conf
    supervise /usr/sbin/slurmctld -D -i
    ;;
  worker)
    install -d /var/lib/lab/slurmd
    # Configless: slurmd fetches slurm.conf from slurmctld, so scaling the lab
    # changes only the leader's configuration.
    supervise /usr/sbin/slurmd -D --conf-server leader
    ;;
  *)
    echo "lab-entrypoint: unknown LAB_ROLE '$role'" >&2
    exit 2
    ;;
esac

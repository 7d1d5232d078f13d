#!/usr/bin/env bash
# The container healthcheck (compose.yaml): is this node's scheduler daemon alive?
# Slurm: `scontrol ping` (slurmctld answers). Mesos: the daemon's own /health
# endpoint (master on 5050, agent on 5051), asked without starting Python.
set -euo pipefail
case ${LAB_BATCH_SYSTEM:-slurm} in
  slurm)
    exec scontrol ping
    ;;
  mesos)
    port=5051
    [[ ${LAB_ROLE:-} == leader ]] && port=5050
    exec 3<>"/dev/tcp/$(hostname -i | awk '{print $1}')/$port"
    printf 'GET /health HTTP/1.0\r\n\r\n' >&3
    IFS= read -r status <&3
    [[ $status == *" 200 "* ]]
    ;;
  *)
    echo "lab-health: unknown LAB_BATCH_SYSTEM '${LAB_BATCH_SYSTEM}'" >&2
    exit 2
    ;;
esac

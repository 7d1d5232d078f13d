"""toil-lab's code that runs INSIDE the lab's nodes (leader and workers).

The node image copies this package, and only it (with images/), to /opt/toil-lab: the
placement recorder, the slurm_autodeploy plugin, slurm.conf, the Mesos daemons' flags,
the Mesos build's libraries. It imports the standard library, Toil, and itself, never
the host-side `lab` package (tests/unit/test_wall.py holds it to that). The host may
import it: names and paths inside the nodes are defined here once (innode.layout).
"""

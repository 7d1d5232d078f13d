"""`python -m lab.bench` (`make bench`): the lab's costs, each measured beside a baseline in the same run.

For each batch system (Slurm, and Mesos when a Mesos build is given or remembered),
on a lab of its own that the bench makes and deletes:
  a) `lab up` with its image built, against the same containers started with a no-op
     entrypoint (startup.py);
  b) a root job with 64 trivial children on the batch system, against the same workflow
     on Toil's single_machine batch system on that lab's leader (jobs.py);
  c) the memory an idle worker uses (measure.py).
Other labs on the host share its CPUs: compare the ratios, measured side by side,
more than the seconds. report.py prints the table; recovery.py measures faults.
"""

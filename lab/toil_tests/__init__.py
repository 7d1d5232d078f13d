"""`lab toil-tests`: Toil's own multi-node tests, unmodified, against a Mesos lab.

runner.py         the verb: the lab (own, or LAB_REUSE), the families, the table, the exit code
families.py       each family's Toil test files, selection and pytest command line
appliance_family  Toil's appliance tests: pytest on the host, in a runner (venv.py) with the
                  lab's own Toil wheel, the shims (shim.py) first on PATH, the plugin (plugin.py)
mesos_family      Toil's Mesos batch-system tests: pytest in a lab worker, as the lab user
plugin.py         the pytest plugin that hands ApplianceTestSupport the lab's leader and a worker
leftovers.py      what an appliance test leaves on the shared /data, and only that, removed
cause.py          the first line of a failure's real cause; table.py the table from junit XML
installed.py      the Toil of a node, or of the runner (innode/toil_facts.py answers)
"""

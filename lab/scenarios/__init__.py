"""Scenarios: Toil issues reproduced on a lab, each with a verdict from ground truth.

scenario.py is the form (issue, preparation with its undo, run, observations, verdict rule),
evidence.py what scenarios run and read, catalogue/ one module per Toil issue, runner.py
`lab scenario` (docs/scenarios.md).
"""

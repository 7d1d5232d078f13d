"""CWL on the lab: the nodes' CWL layer (image), and CWL workflows run with toil-cwl-runner (run)."""

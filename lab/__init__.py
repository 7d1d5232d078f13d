"""toil-lab: a Docker Compose multi-node test lab for the Toil workflow engine."""

#!/usr/bin/env cwl-runner
# Scatters whereami.cwl over its items: one step per item, each on whichever worker the
# lab's batch system picks (`lab run tests/integration/workflows/cwl/scatter.cwl
# tests/integration/workflows/cwl/scatter-job.yml`).
cwlVersion: v1.2
class: Workflow
requirements:
  ScatterFeatureRequirement: {}
inputs:
  items: int[]
  seconds: int
  note: File
outputs:
  records:
    type: File[]
    outputSource: where/record
steps:
  where:
    run: whereami.cwl
    scatter: item
    in:
      item: items
      seconds: seconds
      note: note
    out: [record]

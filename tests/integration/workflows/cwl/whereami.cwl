#!/usr/bin/env cwl-runner
# Records where it ran, from inside the tool's own process: the node's hostname (the
# kernel's), its pid, and its parent's pid (the Toil worker that ran this step; cwltool
# starts the tool directly, with --no-container). The item comes through a JavaScript
# expression, evaluated by Node.js where the step runs.
cwlVersion: v1.2
class: CommandLineTool
requirements:
  InlineJavascriptRequirement: {}
inputs:
  item: int
  seconds: int
baseCommand: [sh, -c]
arguments:
  - 'sleep "$1"; printf "{\"item\": %s, \"node\": \"%s\", \"pid\": %s, \"ppid\": %s}\n" "$2" "`cat /proc/sys/kernel/hostname`" "$$" "$PPID"'
  - whereami
  - $(inputs.seconds)
  - ${ return String(inputs.item); }
stdout: whereami.json
outputs:
  record:
    type: stdout

#!/usr/bin/env cwl-runner
# Records where it ran, from inside the tool's own process: the node's hostname (the
# kernel's), its pid, and its parent's pid (the Toil worker that ran this step; cwltool
# starts the tool directly, with --no-container). The item comes through a JavaScript
# expression, evaluated by Node.js where the step runs; the note's first line is read
# from the input File as the step's node sees it (staged from the job store).
cwlVersion: v1.2
class: CommandLineTool
requirements:
  InlineJavascriptRequirement: {}
inputs:
  item: int
  seconds: int
  note: File
baseCommand: [sh, -c]
arguments:
  - 'sleep "$1"; printf "{\"item\": %s, \"node\": \"%s\", \"pid\": %s, \"ppid\": %s, \"note\": \"%s\"}\n" "$2" "`cat /proc/sys/kernel/hostname`" "$$" "$PPID" "`head -n 1 "$3"`"'
  - whereami
  - $(inputs.seconds)
  - ${ return String(inputs.item); }
  - $(inputs.note.path)
stdout: whereami.json
outputs:
  record:
    type: stdout

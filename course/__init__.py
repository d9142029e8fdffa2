"""course: the instructor's side of the course (the `course` command, lectures, widgets, banks, deployment)."""

import sys

# jsonschema (imported by nbformat and nbgrader) loads rfc3987_syntax when it is installed, and that
# module builds some 35 parsers as it is imported: 1.5 s of every `course` command's start, half of
# it (python-jsonschema/jsonschema#1428). No schema the course uses has an IRI format; without the
# module jsonschema leaves that one format unchecked.
sys.modules.setdefault("rfc3987_syntax", None)

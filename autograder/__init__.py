"""autograder: how students' work is judged, in two halves split by where they run.

- ``autograder.checks`` runs in the student's kernel: the checks that test cells call, their
  messages, and the integrity snapshot that importing it takes.
- ``autograder.grading`` runs in the grader: the grading engine, the sandboxed executor, intake of
  submitted files, the tamper scan, locking cells to the source and scrubbing feedback pages.

Importing this package imports neither, so the grader never takes the in-kernel snapshot.
"""

"""Banks of submissions per assignment, used by tests/test_course_grading.py.

Each module ``a0N_<name>.py`` defines:

* ``ASSIGNMENT``: the notebook name, e.g. "01_derivatives";
* ``MUTANTS``: typical student mistakes. Each is a dict with ``name``, ``cell`` (the grade_id
  of the solution cell to change), ``old``/``new`` (a text replacement in that cell) or
  ``source`` (the whole new cell), and ``breaks``: the grade_ids of the test cells that must
  lose points. Every other test cell must keep its full points.
* ``VARIANTS``: different but correct solutions, same format, with no ``breaks``: full marks.
* ``TAMPERING``: attempts to fool the checks, same format, with ``breaks``: the test cells that
  must score 0 (a tampering entry may add code to a solution cell with old="" and new=...).
"""

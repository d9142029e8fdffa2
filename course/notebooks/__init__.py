"""The course's notebooks, written as Python so that they review and diff like code.

Each module here describes one notebook as a list of cells built with ``course.notebooks.cells``:
the graded assignments (``a01_derivatives`` ... ``a05_forward_mode``) become nbgrader source
notebooks in ``source/<name>/<name>.ipynb``, the lectures become ``course/lectures/*.ipynb``.
``python -m course.notebooks.build`` writes them all; a test keeps the committed notebooks in
sync with these modules. To change a notebook, edit its module and rebuild.
"""

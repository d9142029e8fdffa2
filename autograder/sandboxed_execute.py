"""SandboxedExecute: nbgrader's Execute step, run in the grading sandbox. (Work in progress.)"""

from nbgrader.preprocessors import Execute


class SandboxedExecute(Execute):
    pass

"""SanitizeNotebook: what a student wrote, made safe to render in someone else's browser.

(Work in progress: filled in by the sanitiser work of issue 8; for now it passes notebooks through.)
"""

from nbgrader.preprocessors import NbGraderPreprocessor


class SanitizeNotebook(NbGraderPreprocessor):
    def preprocess(self, nb, resources):
        return nb, resources

"""Every assignment's bank graded through the grading engine (nbgrader's pipeline, sandboxed kernels)
into a real gradebook, as `course check` does.

Per assignment, one temporary course grades: the instructor's solutions (full marks), the
untouched release (0, without crashing), the mutant bank (each loses the points of the
exercise it breaks and keeps all others), the bank of correct variants (full marks) and
the tampering bank (no points for the affected exercises). tests/test_grading_engine.py shows
that the engine's grades equal nbgrader's own autograde.
"""

import nbformat
import pytest

from course import banks
from course.check import check_assignment
from course_harness import ROOT, source_notebook

pytestmark = [pytest.mark.nbgrader, pytest.mark.sandbox]

BANKS = banks.all_banks()


@pytest.fixture(scope="module", params=BANKS, ids=lambda b: b.ASSIGNMENT)
def checked(request, tmp_path_factory):
    """Grade the whole bank of one assignment once (2 workers); tests then read the verdicts."""
    bank = request.param
    folder = tmp_path_factory.mktemp(bank.ASSIGNMENT)
    verdicts = check_assignment(ROOT, bank.ASSIGNMENT, workers=2, folder=folder)
    return bank, {v.student: v for v in verdicts}, folder


def _wrong(verdicts, kind):
    return [f"{v.name}: expected {v.expected}, lost {v.lost or 'nothing'} (score {v.score:g})"
            for v in verdicts.values() if v.kind == kind and not v.ok]


def test_bank_sizes():
    assert len(BANKS) == 5
    for bank in BANKS:
        assert len(bank.MUTANTS) >= 6, bank.ASSIGNMENT
        assert len(bank.VARIANTS) >= 1, bank.ASSIGNMENT
        assert len(bank.TAMPERING) >= 1, bank.ASSIGNMENT
    assert sum(len(bank.MUTANTS) for bank in BANKS) >= 100


def test_solutions_get_full_marks(checked):
    _, verdicts, _ = checked
    assert verdicts["solutions"].ok and verdicts["solutions"].score == 100, verdicts["solutions"]


def test_untouched_release_scores_zero(checked):
    bank, verdicts, folder = checked
    assert verdicts["release"].ok and verdicts["release"].score == 0
    path = folder / "autograded" / "release" / bank.ASSIGNMENT / f"{bank.ASSIGNMENT}.ipynb"
    assert len(nbformat.read(path, as_version=4).cells) == len(source_notebook(bank.ASSIGNMENT).cells)


def test_each_mutant_loses_exactly_the_exercises_it_breaks(checked):
    _, verdicts, _ = checked
    wrong = _wrong(verdicts, "mutant")
    assert not wrong, "\n".join(wrong)


def test_correct_variants_get_full_marks(checked):
    _, verdicts, _ = checked
    wrong = _wrong(verdicts, "variant")
    assert not wrong, "\n".join(wrong)


def test_tampering_scores_zero_on_affected_exercises(checked):
    _, verdicts, _ = checked
    wrong = _wrong(verdicts, "tampering")
    assert not wrong, "\n".join(wrong)


def test_tampering_feedback_says_so(checked):
    bank, verdicts, folder = checked
    for i, entry in enumerate(bank.TAMPERING):
        if "print" in entry.get("source", ""):
            continue
        path = folder / "autograded" / f"tampering-{i}" / bank.ASSIGNMENT / f"{bank.ASSIGNMENT}.ipynb"
        errors = [o for c in nbformat.read(path, as_version=4).cells for o in c.get("outputs", [])
                  if o.get("output_type") == "error"]
        # the static scan (autograder.grading.tamper_scan) or the in-kernel check (autograder.checks.integrity) says so
        assert any("integrity check" in o["evalue"].lower() for o in errors), entry["name"]

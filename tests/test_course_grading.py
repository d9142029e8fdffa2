"""Every assignment through nbgrader's real autograde into a real gradebook.

Per assignment, one temporary course grades: the instructor's solutions (full marks), the
untouched release (0, without crashing), the mutant bank (each loses the points of the
exercise it breaks and keeps all others), the bank of correct variants (full marks) and
the tampering bank (no points for the affected exercises).
"""




import pytest

from course import banks
from course_harness import TempCourse, mutate, release_notebook, source_notebook

pytestmark = pytest.mark.nbgrader

BANKS = banks.all_banks()


def _submission(assignment, entry):
    nb = source_notebook(assignment)
    if "source" in entry:
        return mutate(nb, entry["cell"], source=entry["source"])
    return mutate(nb, entry["cell"], entry["old"], entry["new"])


@pytest.fixture(scope="module", params=BANKS, ids=lambda b: b.ASSIGNMENT)
def graded(request, tmp_path_factory):
    """Grade the whole bank of one assignment once; tests then read the gradebook."""
    bank = request.param
    assignment = bank.ASSIGNMENT
    course = TempCourse(tmp_path_factory.mktemp(assignment), [assignment])
    course.generate(assignment)
    students = {"solutions": source_notebook(assignment), "release": release_notebook(assignment)}
    for kind in ("MUTANTS", "VARIANTS", "TAMPERING"):
        for i, entry in enumerate(getattr(bank, kind)):
            students[f"{kind.lower()}-{i}"] = _submission(assignment, entry)
    scores = {}
    for student, nb in students.items():
        course.submit(student, assignment, nb)
        course.autograde(assignment, student)
        scores[student] = course.scores(assignment, student)
    return bank, scores, course


def _lost(scores):
    return sorted(grade_id for grade_id, (score, maximum) in scores.items() if maximum and score < maximum)


def test_solutions_get_full_marks(graded):
    bank, scores, _ = graded
    assert _lost(scores["solutions"]) == []
    assert sum(s for s, _ in scores["solutions"].values()) == 100


def test_untouched_release_scores_zero(graded):
    bank, scores, course = graded
    assert sum(s for s, _ in scores["release"].values()) == 0
    nb = course.autograded_notebook(bank.ASSIGNMENT, "release")
    assert len(nb.cells) == len(source_notebook(bank.ASSIGNMENT).cells)


def test_bank_sizes():
    for bank in BANKS:
        assert len(bank.MUTANTS) >= 6, bank.ASSIGNMENT
        assert len(bank.VARIANTS) >= 1, bank.ASSIGNMENT
        assert len(bank.TAMPERING) >= 1, bank.ASSIGNMENT
    assert sum(len(bank.MUTANTS) for bank in BANKS) >= 40 or len(BANKS) < 5


def test_each_mutant_loses_exactly_the_exercises_it_breaks(graded):
    bank, scores, _ = graded
    wrong = []
    for i, entry in enumerate(bank.MUTANTS):
        lost = _lost(scores[f"mutants-{i}"])
        if lost != sorted(entry["breaks"]):
            wrong.append(f"{entry['name']}: lost points on {lost}, expected exactly {sorted(entry['breaks'])}")
    assert not wrong, "\n".join(wrong)


def test_correct_variants_get_full_marks(graded):
    bank, scores, _ = graded
    wrong = [f"{entry['name']}: lost points on {_lost(scores[f'variants-{i}'])}"
             for i, entry in enumerate(bank.VARIANTS) if _lost(scores[f"variants-{i}"])]
    assert not wrong, "\n".join(wrong)


def test_tampering_scores_zero_on_affected_exercises(graded):
    bank, scores, _ = graded
    wrong = []
    for i, entry in enumerate(bank.TAMPERING):
        result = scores[f"tampering-{i}"]
        for grade_id in entry["breaks"]:
            if result[grade_id][0] != 0:
                wrong.append(f"{entry['name']}: {grade_id} scored {result[grade_id][0]}")
    assert not wrong, "\n".join(wrong)


def test_tampering_feedback_says_so(graded):
    bank, scores, course = graded
    for i, entry in enumerate(bank.TAMPERING):
        if "print" in entry.get("source", ""):
            continue
        nb = course.autograded_notebook(bank.ASSIGNMENT, f"tampering-{i}")
        errors = [o for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
        # the static scan (autograder.tamper_scan) or the in-kernel check (autograder.integrity) says so
        assert any("integrity check" in o["evalue"].lower() for o in errors), entry["name"]

"""nbgrader's gradebook in a real PostgreSQL server (tests/postgres_server.py).

One temporary course, with its gradebook in the session's PostgreSQL database, generates
01_derivatives and autogrades two students with nbgrader's Python API: the instructor's
solutions (100 points) and the untouched release (0 points). The tests read the grades back
through nbgrader's Gradebook and with plain SQL, and check that no SQLite file was used.
"""

import pytest
import sqlalchemy as sa

from course_harness import Course, release_notebook, source_notebook

pytestmark = [pytest.mark.postgres, pytest.mark.nbgrader]

ASSIGNMENT = "01_derivatives"

# nbgrader's tables (nbgrader/api.py) and the table of its schema version.
NBGRADER_TABLES = {"course", "assignment", "notebook", "student", "submitted_assignment",
                   "submitted_notebook", "grade", "grade_cells", "alembic_version"}


@pytest.fixture(scope="module")
def graded(postgres_url, tmp_path_factory):
    """The course, after generating the assignment and autograding both students into PostgreSQL."""
    course = Course.temporary(tmp_path_factory.mktemp("postgres-course"), [ASSIGNMENT], db_url=postgres_url)
    course.generate(ASSIGNMENT)
    for student, nb in {"solutions": source_notebook(ASSIGNMENT), "release": release_notebook(ASSIGNMENT)}.items():
        course.submit(student, ASSIGNMENT, nb)
        course.autograde(ASSIGNMENT, student)
    return course


def test_scores_read_back_from_the_postgres_gradebook(graded):
    solutions = graded.scores(ASSIGNMENT, "solutions")
    release = graded.scores(ASSIGNMENT, "release")
    assert sum(maximum for _, maximum in solutions.values()) == 100
    assert sum(score for score, _ in solutions.values()) == 100
    assert sum(maximum for _, maximum in release.values()) == 100
    assert sum(score for score, _ in release.values()) == 0


def test_the_tables_and_grades_are_in_postgres(graded, postgres_url):
    engine = sa.create_engine(postgres_url)
    try:
        with engine.connect() as db:
            assert db.dialect.name == "postgresql"
            assert db.execute(sa.text("SELECT version()")).scalar().startswith("PostgreSQL")
            tables = set(db.execute(sa.text(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'")).scalars())
            totals = dict(db.execute(sa.text(
                "SELECT sa.student_id, SUM(COALESCE(g.manual_score, g.auto_score, 0))"
                " FROM grade g JOIN submitted_notebook sn ON g.notebook_id = sn.id"
                " JOIN submitted_assignment sa ON sn.assignment_id = sa.id"
                " JOIN assignment a ON sa.assignment_id = a.id"
                " WHERE a.name = :assignment GROUP BY sa.student_id"), {"assignment": ASSIGNMENT}).all())
    finally:
        engine.dispose()
    assert NBGRADER_TABLES <= tables, f"missing: {NBGRADER_TABLES - tables}"
    assert totals == {"solutions": 100, "release": 0}


def test_no_sqlite_gradebook_was_created(graded):
    assert (graded.root / "autograded" / "solutions" / ASSIGNMENT).is_dir()  # grading did happen here
    assert not (graded.root / "gradebook.db").exists()
    assert not [p for p in graded.root.rglob("*") if p.suffix in {".db", ".sqlite", ".sqlite3"}]


def test_fresh_postgres_db_is_a_new_empty_database(fresh_postgres_db, postgres_url):
    assert fresh_postgres_db != postgres_url
    engine = sa.create_engine(fresh_postgres_db)
    try:
        with engine.connect() as db:
            assert db.execute(sa.text("SELECT current_database()")).scalar() == fresh_postgres_db.rsplit("/", 1)[1]
            assert db.execute(sa.text(
                "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'")).scalar() == 0
    finally:
        engine.dispose()

"""autograder/grading/nbgrader_reuse.py: within a grading batch nbgrader reuses its database engine and
its metadata validator; the validation is as strict as nbgrader's own, and afterwards nbgrader is
as it was."""

import copy

import jsonschema
import nbformat
import nbgrader.api
import pytest
import sqlalchemy
from nbgrader.api import Gradebook
from nbgrader.nbgraderformat import MetadataValidator, ValidationError
from nbgrader.preprocessors import CheckCellMetadata

import course.course_dir  # noqa: F401  (puts nbgrader's `alembic` on PATH, as for every new gradebook)
from autograder.grading.nbgrader_reuse import reusing_nbgrader


def _graded_cell(**metadata):
    cell = nbformat.v4.new_code_cell("assert True")
    cell.metadata["nbgrader"] = {"grade": True, "solution": False, "locked": True, "points": 2,
                                 "grade_id": "ex1-tests", "schema_version": 3, **metadata}
    return cell


def test_gradebooks_in_a_batch_share_one_engine_and_keep_working(tmp_path):
    url = f"sqlite:///{tmp_path / 'gradebook.db'}"
    with reusing_nbgrader():
        with Gradebook(url) as first:
            first.add_student("ann")
        with Gradebook(url) as second:
            assert second.engine is first.engine          # one engine, one statement cache
            assert [s.id for s in second.students] == ["ann"]   # still usable after the first closed
            engine = second.engine
    assert nbgrader.api.create_engine is sqlalchemy.create_engine
    with Gradebook(url) as after:
        assert after.engine is not engine
        assert [s.id for s in after.students] == ["ann"]


def test_nbgrader_checks_its_tables_once_per_engine_in_a_batch(tmp_path, monkeypatch):
    checks = []
    create_all = sqlalchemy.MetaData.create_all
    monkeypatch.setattr(sqlalchemy.MetaData, "create_all",
                        lambda self, bind, **options: (checks.append(bind), create_all(self, bind, **options))[-1])
    url = f"sqlite:///{tmp_path / 'gradebook.db'}"
    other = f"sqlite:///{tmp_path / 'other.db'}"
    with reusing_nbgrader():
        with reusing_nbgrader():   # an inner block leaves the outer one's cache in place
            pass
        for _ in range(3):
            with Gradebook(url) as gradebook:
                gradebook.add_student(f"s{len(gradebook.students)}")
        with Gradebook(other) as fresh:      # another database gets its tables
            fresh.add_student("ann")
        assert len(checks) == 2 and checks[0] is not checks[1]
    with Gradebook(url) as after:             # afterwards, every opening checks again, as nbgrader does
        assert [s.id for s in after.students] == ["s0", "s1", "s2"]
    with Gradebook(url):
        pass
    assert len(checks) == 4


def test_the_cached_validator_refuses_what_nbgrader_refuses():
    nb = nbformat.v4.new_notebook(cells=[_graded_cell()])
    wrong = copy.deepcopy(nb)
    wrong.cells[0].metadata["nbgrader"]["points"] = "ten"
    with reusing_nbgrader():
        CheckCellMetadata().preprocess(copy.deepcopy(nb), {})
        with pytest.raises(ValidationError):
            CheckCellMetadata().preprocess(copy.deepcopy(wrong), {})
        with pytest.raises(jsonschema.ValidationError) as inside:
            MetadataValidator().validate_cell(wrong.cells[0])
    with pytest.raises(jsonschema.ValidationError) as outside:
        MetadataValidator().validate_cell(wrong.cells[0])
    assert inside.value.message == outside.value.message

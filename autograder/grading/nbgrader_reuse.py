"""What nbgrader builds anew for every notebook, built once per grading process instead.

Grading one submission with nbgrader's own preprocessors and converter opens its `Gradebook`
about ten times, and each opening creates a new SQLAlchemy engine: a new connection pool, a
schema inspection and, worst, an empty statement cache, so every query is compiled again; then
it asks the database whether each of its thirteen tables exists (`create_all`), about 1 ms each time.
nbgrader's metadata check calls `jsonschema.validate`, which checks nbgrader's own schema
before every cell. Together that was half of the grader's work per submission (measured with
`benchmarks/grade_throughput.py`). `reusing_nbgrader()` keeps nbgrader's code and behaviour and changes
only these three things:

- `nbgrader.api.create_engine` returns one engine per database URL and process (a forked
  worker makes its own: pooled connections must not cross a fork), and `Gradebook.close`
  leaves that shared engine's pool open; a SQLite writer waits up to 30 s for another's commit;
- `create_all` runs once per shared engine: a later Gradebook on that engine finds the tables
  the first one made or found (within a batch, nobody drops nbgrader's tables);
- nbgrader's metadata validator validates against a validator built once per schema.

The caches change nothing else: the same queries and the same validation run, in the same order.
"""

from __future__ import annotations

import contextlib
import json
import os
import types
import weakref

import jsonschema
import nbgrader.api
import nbgrader.nbgraderformat.common
import sqlalchemy

_engines: dict[tuple[int, str], sqlalchemy.engine.Engine] = {}
_validators: dict[str, jsonschema.protocols.Validator] = {}
_schema_made: "weakref.WeakSet[sqlalchemy.engine.Engine]" = weakref.WeakSet()   # engines create_all has run on


# Workers write a SQLite gradebook side by side, each its own student's rows; SQLite lets one
# writer commit at a time and makes the others wait, here up to 30 s instead of pysqlite's 5.
SQLITE_WAIT = {"timeout": 30}


def shared_engine(url, **options) -> sqlalchemy.engine.Engine:
    """The engine for ``url`` in this process, created on first use with nbgrader's options."""
    key = (os.getpid(), str(url))
    if key not in _engines:
        if sqlalchemy.engine.make_url(url).get_backend_name() == "sqlite":
            options = {**options, "connect_args": SQLITE_WAIT}
        _engines[key] = sqlalchemy.create_engine(url, **options)
    return _engines[key]


def _close_keeping_engine(gradebook: nbgrader.api.Gradebook) -> None:
    """Gradebook.close without disposing of the shared engine (other Gradebooks use its pool)."""
    gradebook.db.remove()


def _create_all_once(create_all):
    """nbgrader's ``Base.metadata.create_all``, run only the first time for each shared engine."""
    def create_all_once(bind, **options):
        if bind not in _schema_made:
            create_all(bind=bind, **options)
            _schema_made.add(bind)
    return create_all_once


def validate(instance, schema) -> None:
    """jsonschema.validate for nbgrader's own (trusted) schema, without re-checking the schema itself."""
    key = json.dumps(schema, sort_keys=True)   # nbgrader reads its schema file anew for every notebook
    if key not in _validators:
        _validators[key] = jsonschema.validators.validator_for(schema)(schema)
    error = jsonschema.exceptions.best_match(_validators[key].iter_errors(instance))
    if error is not None:
        raise error


@contextlib.contextmanager
def reusing_nbgrader():
    """Within this block (a grading batch) nbgrader reuses its engines and its validator in this
    process and in the workers forked from it; afterwards nbgrader is as it was and the engines
    are closed, so no connection outlives the batch (a gradebook file replaced later is read anew)."""
    metadata = nbgrader.api.Base.metadata
    originals = (nbgrader.api.create_engine, nbgrader.api.Gradebook.close, nbgrader.nbgraderformat.common.jsonschema)
    nbgrader.api.create_engine = shared_engine
    nbgrader.api.Gradebook.close = _close_keeping_engine
    previous = vars(metadata).get("create_all")       # (set by an enclosing block, else None)
    metadata.create_all = _create_all_once(metadata.create_all)   # an instance attribute hides the method
    nbgrader.nbgraderformat.common.jsonschema = types.SimpleNamespace(
        validate=validate, ValidationError=jsonschema.ValidationError)
    try:
        yield
    finally:
        nbgrader.api.create_engine, nbgrader.api.Gradebook.close, nbgrader.nbgraderformat.common.jsonschema = originals
        if previous is None:
            del metadata.create_all
        else:
            metadata.create_all = previous
        for key in [key for key in _engines if key[0] == os.getpid()]:
            _engines.pop(key).dispose()

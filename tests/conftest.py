"""Shared fixtures.

PostgreSQL: one private server per test session (tests/postgres_server.py), started only when a
test asks for ``postgres_url`` or ``fresh_postgres_db``. Without the server programs these tests
fail (they do not skip): ``bash scripts/setup.sh --dev`` installs them.
"""

import itertools

import pytest

from postgres_server import PostgresServer, PostgresUnavailable

_database_numbers = itertools.count(1)


@pytest.fixture(scope="session")
def postgres_server():
    """The session's PostgreSQL server (a PostgresServer), stopped and deleted after the session."""
    try:
        server, problem = PostgresServer().__enter__(), None
    except PostgresUnavailable as error:
        problem = str(error)
    if problem:
        pytest.fail(problem, pytrace=False)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def postgres_url(postgres_server) -> str:
    """SQLAlchemy URL of the database ``gradebook`` on the session's PostgreSQL server."""
    return postgres_server.create_database("gradebook")


@pytest.fixture
def fresh_postgres_db(postgres_server) -> str:
    """SQLAlchemy URL of a new, empty database for this test on the session's server."""
    return postgres_server.create_database(f"test_{next(_database_numbers)}")

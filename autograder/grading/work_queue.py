"""Which submission a grading process takes next: alone, or sharing a class with other processes.

A grading process asks its queue for the next submission (`claim`), grades it, and says how it
went (`done`). Two queues:

- `LocalQueue`: one process grades the whole class (the default).
- `SharedQueue`: several `course grade` processes, on one machine or many, share one class
  through the course's PostgreSQL gradebook. A table there lists the submissions of a grading
  run; a process claims one by locking its row (`SELECT ... FOR UPDATE SKIP LOCKED`, so no two
  processes get the same row and nobody waits for a row someone else holds), and holds that
  lock, in an open transaction, while it grades. When it is done it marks the row done and
  commits. If the process dies (even by `kill -9`, or its machine), PostgreSQL ends its
  connection, rolls the transaction back and releases the lock: the row is free again and the
  next process to ask takes it. So every submission of a run is graded once, and nothing is
  lost when a grader dies. No server of our own: the database does the coordination.

The processes of one run agree on a run id (`course grade --run-id`; on Kubernetes the Job's
name). A submission whose grading failed on the grader's side is taken off the run (its row is
deleted), so that the next run grades it again rather than this one retrying it forever.
"""

from __future__ import annotations

import os
import socket
from collections import deque

import sqlalchemy
from sqlalchemy import text

TABLE = "autodiff_grading_queue"

# Notice a grading machine that vanished without closing its connection (power, network) within
# about a minute, instead of TCP's two hours: its claims are then released.
KEEPALIVES = {"keepalives": 1, "keepalives_idle": 30, "keepalives_interval": 10, "keepalives_count": 3}

# No statement of the queue should wait for a lock (claims skip locked rows); if one ever does,
# it fails after a minute with PostgreSQL's message rather than hanging the grader.
LOCK_TIMEOUT = {"options": "-c lock_timeout=60000"}


def process_name() -> str:
    """Who graded a submission, as stored in its record: host and process id."""
    return f"{socket.gethostname()}:{os.getpid()}"


class LocalQueue:
    """The submissions of one process's batch, in order."""

    def __init__(self, students: list[str]):
        self.todo = deque(students)

    def claim(self) -> str | None:
        return self.todo.popleft() if self.todo else None

    def done(self, student: str, graded: bool) -> None:
        """Nothing to tell anyone: this process is the only one grading."""

    def others_unfinished(self) -> int:
        return 0

    def close(self) -> None:
        pass


class SharedQueue:
    """The submissions of grading run ``run_id`` of ``assignment``, shared through PostgreSQL."""

    def __init__(self, db_url: str, run_id: str, assignment: str, students: list[str], size: int):
        url = sqlalchemy.engine.make_url(db_url)
        if url.get_backend_name() != "postgresql":
            raise ValueError(f"grading processes share a class through a PostgreSQL gradebook; this one is "
                             f"{url.get_backend_name()} ({url.render_as_string(hide_password=True)}). "
                             "Give --db-url postgresql://... or leave out --run-id")
        self.run_id, self.assignment = run_id, assignment
        self.engine = sqlalchemy.create_engine(url, pool_size=size + 1, max_overflow=0, connect_args={**KEEPALIVES, **LOCK_TIMEOUT})
        self.claims: dict[str, sqlalchemy.engine.Connection] = {}
        with self.engine.begin() as connection:
            # Several processes start at once: one at a time creates the table.
            connection.execute(text("SELECT pg_advisory_xact_lock(hashtext(:table))"), {"table": TABLE})
            connection.execute(text(
                f"CREATE TABLE IF NOT EXISTS {TABLE} ("
                " run text NOT NULL, assignment text NOT NULL, student text NOT NULL,"
                " done_by text, done_at timestamptz,"
                " PRIMARY KEY (run, assignment, student))"))
            if students:
                # Rows another process of the run added already stay as they are (done or not).
                connection.execute(text(
                    f"INSERT INTO {TABLE} (run, assignment, student) VALUES (:run, :assignment, :student) "
                    "ON CONFLICT DO NOTHING"),
                    [{"run": run_id, "assignment": assignment, "student": s} for s in students])

    def claim(self) -> str | None:
        """The next submission nobody has graded or holds, locked for this process until done()."""
        connection = self.engine.connect()
        row = connection.execute(text(
            f"SELECT student FROM {TABLE} WHERE run = :run AND assignment = :assignment AND done_at IS NULL "
            "ORDER BY student LIMIT 1 FOR UPDATE SKIP LOCKED"),
            {"run": self.run_id, "assignment": self.assignment}).first()
        if row is None:
            connection.rollback()
            connection.close()
            return None
        self.claims[row.student] = connection
        return row.student

    def done(self, student: str, graded: bool) -> None:
        """Mark the submission done (graded) or take it off the run (the grader failed on it)."""
        connection = self.claims.pop(student)
        key = {"run": self.run_id, "assignment": self.assignment, "student": student}
        try:
            if graded:
                connection.execute(text(
                    f"UPDATE {TABLE} SET done_by = :by, done_at = now() "
                    "WHERE run = :run AND assignment = :assignment AND student = :student"), {**key, "by": process_name()})
            else:
                connection.execute(text(
                    f"DELETE FROM {TABLE} WHERE run = :run AND assignment = :assignment AND student = :student"), key)
            connection.commit()
        finally:
            connection.close()

    def others_unfinished(self) -> int:
        """Submissions of the run that are not done and not held by this process (others hold them,
        or will: a process that dies hands its claims back)."""
        with self.engine.connect() as connection:
            left = connection.execute(text(
                f"SELECT count(*) FROM {TABLE} WHERE run = :run AND assignment = :assignment AND done_at IS NULL"),
                {"run": self.run_id, "assignment": self.assignment}).scalar_one()
        return left - len(self.claims)

    def close(self) -> None:
        """Give back whatever is still claimed (an interrupted batch) and close the connections."""
        for connection in self.claims.values():
            connection.rollback()
            connection.close()
        self.claims.clear()
        self.engine.dispose()

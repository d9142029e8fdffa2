"""The class list of a hub course: who is a student, who is an instructor, and their names.

A roster is a CSV file with a header row and the columns

    username,role,first_name,last_name,email

``username`` is the hub user and, on a single server, the Unix user (PAM checks its password);
``role`` is ``student`` or ``instructor``; names and email are optional. The roster decides the
hub groups (who may reach the course service) and gives the gradebook its names, so that the
formgrader shows "Lovelace, Ada" instead of "None, None".
"""

from __future__ import annotations

import csv
import pwd
import re
from dataclasses import dataclass
from pathlib import Path

from ..course_dir import Course, CourseError

ROLES = ("student", "instructor")
# What JupyterHub, nbgrader's exchange and useradd all accept: lower case, digits, - and _.
USERNAME = re.compile(r"[a-z_][a-z0-9_-]{0,31}")


@dataclass(frozen=True)
class Member:
    username: str
    role: str
    first_name: str = ""
    last_name: str = ""
    email: str = ""


def read_roster(path: Path | str) -> list[Member]:
    """The members listed in a roster CSV file; every problem is reported with its line number."""
    path = Path(path)
    if not path.is_file():
        raise CourseError(f"no roster at {path}: write a CSV file with the header "
                          f"'username,role,first_name,last_name,email' and one line per hub user.")
    with path.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    members, problems, seen = [], [], set()
    for line, row in enumerate(rows, start=2):
        row = {(k or "").strip(): (v or "").strip() for k, v in row.items()}
        name, role = row.get("username", ""), row.get("role", "").lower()
        if not USERNAME.fullmatch(name):
            problems.append(f"line {line}: username {name!r} is not a valid user name (lower case letters, digits, - and _; at most 32)")
        elif name in seen:
            problems.append(f"line {line}: {name} is listed twice")
        if role not in ROLES:
            problems.append(f"line {line}: role {role!r} of {name!r} must be 'student' or 'instructor'")
        seen.add(name)
        members.append(Member(name, role, row.get("first_name", ""), row.get("last_name", ""), row.get("email", "")))
    if problems:
        raise CourseError(f"the roster {path} has problems:\n  " + "\n  ".join(problems))
    if not members:
        raise CourseError(f"the roster {path} lists nobody: add lines 'username,role,first_name,last_name,email'.")
    return members


def students(members: list[Member]) -> list[Member]:
    return [m for m in members if m.role == "student"]


def instructors(members: list[Member]) -> list[Member]:
    return [m for m in members if m.role == "instructor"]


def missing_unix_users(members: list[Member]) -> list[str]:
    """Roster users without a Unix account (PAM and the spawner need one each)."""
    missing = []
    for member in members:
        try:
            pwd.getpwnam(member.username)
        except KeyError:
            missing.append(member.username)
    return missing


def sync_gradebook(course: Course, members: list[Member]) -> list[str]:
    """Add or update every student of the roster in the course's gradebook, with their names.

    nbgrader only learns a student's id when it collects a submission, and the formgrader then
    shows "None, None". Names come from the roster, or else from the Unix account's full name
    (the GECOS field: ``useradd -c "Ada Lovelace"``). Returns the student ids written.
    """
    written = []
    with course.gradebook() as gb:
        for member in students(members):
            first, last = member.first_name, member.last_name
            if not (first or last):
                first, last = _gecos_name(member.username)
            fields = {k: v for k, v in (("first_name", first), ("last_name", last), ("email", member.email)) if v}
            gb.update_or_create_student(member.username, **fields)
            written.append(member.username)
    return written


def _gecos_name(username: str) -> tuple[str, str]:
    """(first, last) from the account's full name, or ("", "")."""
    try:
        full = pwd.getpwnam(username).pw_gecos.split(",")[0].strip()
    except KeyError:
        return "", ""
    if not full:
        return "", ""
    first, _, last = full.rpartition(" ")
    return (first, last) if first else (full, "")

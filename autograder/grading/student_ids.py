"""The one rule for student ids, used wherever an id comes from a student or names a folder.

A student id becomes a folder name (submitted/<id>/, autograded/<id>/, feedback/<id>/), a gradebook
key, a row of the grades table and text in HTML pages. Ids come from places students control: the
name of a folder they hand in, the name of an exchange submission (`<id>+<assignment>+<time>`),
a file name in an LMS archive. So one strict rule, checked on every path:

- 1 to MAX_LENGTH (64) characters;
- only ASCII letters, digits and the four characters ``. _ @ -``;
- the first character is a letter or a digit (so no ``.``/``..``, no hidden folder, no ``-option``).

That leaves out everything with a meaning somewhere: ``/`` and ``\\`` (paths), NUL and newlines
(paths, logs, CSV), ``<>&"'`` (HTML), spaces and ``*?[]`` (shells, globs), ``+`` (nbgrader's exchange
separator), ``%`` and ``:`` (URLs, drive letters), and non-ASCII look-alikes (``аlice`` with a
Cyrillic ``а``). An id that breaks the rule is refused with the reason, never cleaned up silently:
two refused ids could clean up to the same one.

`slug(text)` makes an id part from a person's name (LMS archives): ``José García`` -> ``jose.garcia``.
"""

from __future__ import annotations

import re
import unicodedata

MAX_LENGTH = 64
ALLOWED = "ASCII letters, digits and . _ @ -"
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]*")


def quoted(text: str, limit: int = 80) -> str:
    """text in quotes as repr() writes it (control characters, newlines and escape sequences show as
    escapes, so a name cannot rewrite the instructor's terminal), cut to about limit characters."""
    text_repr = repr(text)
    return text_repr if len(text_repr) <= limit else f"{text_repr[: limit - 4]}...' ({len(text)} characters)"


def printable(text: str, limit: int = 120) -> str:
    """A name from a student (a file, a folder, an archive entry) for a report line: as it is when it is
    printable and short, else quoted()."""
    if text.isprintable() and len(text) <= limit:
        return text
    return quoted(text, limit)


def id_problem(student: str) -> str | None:
    """Why student is not usable as a student id (a sentence naming the id and the rule), or None."""
    if not isinstance(student, str) or not student:
        return "an empty student id is not usable"
    if len(student) > MAX_LENGTH:
        return (f"the student id {quoted(student)} is {len(student)} characters long, over the limit of "
                f"{MAX_LENGTH}; rename the folder or file to a shorter id")
    if _ID.fullmatch(student):
        return None
    bad = sorted({c for c in student if not re.fullmatch(r"[A-Za-z0-9._@-]", c)})
    if bad:
        listed = " ".join(repr(c) for c in bad[:8])
        return (f"the student id {quoted(student)} contains {listed}; a student id has only {ALLOWED}. "
                f"Rename the folder or file to such an id")
    return (f"the student id {quoted(student)} starts with {student[0]!r}; a student id starts with a letter or "
            f"a digit. Rename the folder or file")


def check_id(student: str) -> str:
    """student, if it is a usable id; ValueError with the reason otherwise."""
    if problem := id_problem(student):
        raise ValueError(problem)
    return student


def slug(text: str) -> str:
    """A lowercase id part from a person's name: accents dropped, every run of other characters one '.'
    ('Jane  Doe' -> 'jane.doe', "O'Brien, Mary" -> 'o.brien.mary'); '' when nothing usable is left."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]+", ".", ascii_text.lower()).strip(".")

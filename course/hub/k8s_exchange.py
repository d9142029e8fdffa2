"""The exchange on Kubernetes: per-student folders where Unix permissions cannot separate students.

On one server every user is a Unix user and nbgrader's exchange permissions keep students apart
(inbound/ is write-only for them, each submission belongs to its student's uid). In Zero to
JupyterHub every user pod runs as the same uid, so those permissions separate nobody. Instead each
pod mounts only its own folders of the shared (ReadWriteMany) exchange volume (deploy/z2jh/values.yaml):

    <course>/outbound/                       read-only in every pod (released assignments)
    <course>/inbound-by-student/<username>/  the pod's inbound/  (nbgrader submit writes here)
    <course>/feedback-by-student/<username>/ the pod's feedback/, read-only

The course service sees the whole volume and bridges the two layouts around nbgrader's own steps:

    prepare ROSTER   make every student's folders (before the term; kubelet would make them root's)
    gather           inbound-by-student/<u>/<u>+<assignment>+<time>  ->  inbound/   (before collect)
    scatter          feedback/<hash>.html  ->  feedback-by-student/<u>/<hash>.html  (after release --feedback)

A submission is trusted by the folder it is in, which only that student's pod can write: an entry
in bob's folder named alice+... is refused, never gathered.

    python -m course.hub.k8s_exchange gather --exchange /srv/nbgrader/exchange --course-id autodiff
"""

from __future__ import annotations

import argparse
import os
import shutil
import stat
import sys
from pathlib import Path


def _copy_plain_tree(source: Path, target: Path) -> None:
    """Copy folders and regular files only (links and anything else are left out)."""
    target.mkdir(parents=True)
    for entry in os.scandir(source):
        mode = entry.stat(follow_symlinks=False).st_mode
        if stat.S_ISDIR(mode):
            _copy_plain_tree(Path(entry.path), target / entry.name)
        elif stat.S_ISREG(mode):
            shutil.copyfile(entry.path, target / entry.name, follow_symlinks=False)


def prepare(exchange: Path, course_id: str, students: list[str], uid: int = 1000, gid: int = 100) -> list[Path]:
    """Make each student's inbound and feedback folders, owned by the pods' uid; returns them."""
    made = []
    for kind in ("inbound-by-student", "feedback-by-student"):
        for student in students:
            folder = exchange / course_id / kind / student
            folder.mkdir(parents=True, exist_ok=True)
            if os.geteuid() == 0:
                os.chown(folder, uid, gid)
            made.append(folder)
    (exchange / course_id / "outbound").mkdir(parents=True, exist_ok=True)
    (exchange / course_id / "inbound").mkdir(parents=True, exist_ok=True)
    (exchange / course_id / "feedback").mkdir(parents=True, exist_ok=True)
    return made


def gather(exchange: Path, course_id: str) -> tuple[list[str], list[str]]:
    """Copy new submissions from the per-student folders into inbound/, where nbgrader collects.
    Returns (gathered, refused) descriptions."""
    course = exchange / course_id
    inbound = course / "inbound"
    inbound.mkdir(parents=True, exist_ok=True)
    gathered, refused = [], []
    per_student = course / "inbound-by-student"
    if not per_student.is_dir():
        return gathered, refused
    for folder in sorted(per_student.iterdir()):
        student = folder.name
        if not folder.is_dir() or folder.is_symlink():
            continue
        for entry in sorted(folder.iterdir()):
            name = entry.name
            if name.startswith(".") or name.endswith("-tmp"):
                continue
            if not name.startswith(f"{student}+") or name.count("+") < 2:
                refused.append(f"{student}/{name}: not a submission of {student} (<student>+<assignment>+<time>); left out")
                continue
            if entry.is_symlink() or not entry.is_dir():
                refused.append(f"{student}/{name}: not a folder; left out")
                continue
            if (inbound / name).exists():
                continue
            _copy_plain_tree(entry, inbound / name)
            gathered.append(f"{student}/{name}")
    return gathered, refused


def scatter(exchange: Path, course_id: str, course_root: Path) -> list[str]:
    """Copy each student's released feedback pages into their own feedback folder. The page names
    are nbgrader's (a hash of the submission's secret and the notebook), computed here from
    feedback/<student>/<assignment>/submission_secret.txt of the course, as nbgrader does."""
    from nbgrader.utils import notebook_hash

    released = exchange / course_id / "feedback"
    copied = []
    for secret_file in sorted(Path(course_root, "feedback").glob("*/*/submission_secret.txt")):
        student = secret_file.parent.parent.name
        secret = secret_file.read_text()
        for page in sorted(secret_file.parent.glob("*.html")):
            name = f"{notebook_hash(secret=secret, notebook_id=page.stem)}.html"
            if (released / name).is_file():
                target = exchange / course_id / "feedback-by-student" / student
                target.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(released / name, target / name)
                copied.append(f"{student}/{name}")
    return copied


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m course.hub.k8s_exchange", description=__doc__.split("\n\n")[0])
    parser.add_argument("step", choices=["prepare", "gather", "scatter"])
    parser.add_argument("--exchange", required=True, type=Path, help="the exchange volume's mount point")
    parser.add_argument("--course-id", default="autodiff")
    parser.add_argument("--course", type=Path, default=Path("."), help="the course folder (scatter)")
    parser.add_argument("--roster", type=Path, help="the roster CSV (prepare)")
    args = parser.parse_args(argv)
    if args.step == "prepare":
        if not args.roster:
            parser.error("prepare needs --roster CSV (username,role,first_name,last_name,email)")
        from .roster import read_roster, students
        made = prepare(args.exchange, args.course_id, [m.username for m in students(read_roster(args.roster))])
        print(f"prepared {len(made)} per-student folder(s) in {args.exchange / args.course_id}")
    elif args.step == "gather":
        gathered, refused = gather(args.exchange, args.course_id)
        print(f"gathered {len(gathered)} submission(s) into inbound/", *gathered, sep="\n  ")
        for line in refused:
            print(f"  refused: {line}", file=sys.stderr)
        return 1 if refused else 0
    else:
        copied = scatter(args.exchange, args.course_id, args.course)
        print(f"scattered {len(copied)} feedback page(s)", *copied, sep="\n  ")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Class grading throughput: our grading engine (sandboxed, parallel) against nbgrader's serial autograde.

A class of N submissions of one assignment is graded two ways on this machine, in one run:

(a) engine:   GradingEngine(Course(root), workers=W).grade(assignment), sandbox on, in this process
              (what `course grade` runs; it must run as root);
(b) nbgrader: `nbgrader autograde ASSIGNMENT --force --db=...`, run with cwd = the course folder,
              which grades every student folder in submitted/ one after another in one process.

The class is a mix built from course/banks: correct solutions (the solution and the bank's
VARIANTS), the bank's MUTANTS and untouched releases, dealt from a deck of ten
(4 correct, 5 mutants, 1 release), cycling through the bank to reach N. No infinite loops or
kernel-killing attacks: nbgrader would sit on its timeouts for minutes, which is not the point.

Each way grades its own copy of the same freshly generated course (the course's own
nbgrader_config.py, a gradebook of its own). To be fair on a noisy shared machine the class is
dealt into --rounds slices; in every round both ways grade that round's slice, in alternating
order (round r starts with the engine when r is even). Prints wall time and submissions per
minute of each way, their ratio engine / nbgrader, and where the engine's time goes. nbgrader's
wall time includes starting its process (about 5 s of imports); (a) runs in this process, so each
round also times a fresh process importing the engine and the judged ratio counts it
(target >= 2.5x). Checks that both gave every student the same total score (exit 1 if not, always).

    sudo .venv/bin/python benchmarks/grade_throughput.py [--students 100] [--assignment 01_derivatives]
        [--workers W] [--rounds R] [--keep DIR] [--check]
"""

import os

for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_name] = "1"
for _name in ("AUTODIFF_DB_URL", "AUTODIFF_EXCHANGE"):   # would point every copy at one shared gradebook
    os.environ.pop(_name, None)

import argparse  # noqa: E402
import shlex  # noqa: E402
import shutil  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from collections import defaultdict  # noqa: E402
from pathlib import Path  # noqa: E402

from _bench import REPO_ROOT, Verdicts, environment_line, table, use_repo_checkout  # noqa: E402

use_repo_checkout()

import nbformat  # noqa: E402
from nbgrader.api import MissingEntry  # noqa: E402
from sqlalchemy.exc import SAWarning  # noqa: E402

from autograder.grading.engine import GradingEngine, default_workers  # noqa: E402
from course import banks  # noqa: E402
from course.course_dir import Course  # noqa: E402

# nbgrader's gradebook code triggers SQLAlchemy warnings about its own session use.
warnings.filterwarnings("ignore", category=SAWarning)
warnings.filterwarnings("ignore", message=".*not in session.*")

TARGET_RATIO = 2.5
TARGET_PARENT_SECONDS = 0.2   # the parent's own work per submission: a 16-core server keeps 16 workers busy
NBGRADER = str(Path(sys.executable).parent / "nbgrader")
DECK = ("correct", "mutant", "correct", "mutant", "mutant", "correct", "mutant", "release", "correct", "mutant")
WAYS = ("engine", "nbgrader")


# --- the class ----------------------------------------------------------------------------


def build_class(assignment: str, n: int, course: Path) -> dict[str, nbformat.NotebookNode]:
    """n submissions by student id, dealt from DECK; correct ones cycle through the solution and the
    bank's variants, mutants through the bank's mutants; releases are the course's generated one."""
    bank = banks.bank_for(assignment)
    correct = [("solution", banks.source_notebook(assignment))]
    mutants = []
    if bank is not None:
        correct += [(f"variant{i}", banks.submission(assignment, e)) for i, e in enumerate(bank.VARIANTS)]
        mutants = [(f"mutant{i:02d}", banks.submission(assignment, e)) for i, e in enumerate(bank.MUTANTS)]
    release = [("release", banks.release_notebook(assignment, course))]
    pools = {"correct": correct, "mutant": mutants or correct, "release": release}
    dealt = defaultdict(int)
    students = {}
    for i in range(n):
        kind = DECK[i % len(DECK)]
        label, nb = pools[kind][dealt[kind] % len(pools[kind])]
        dealt[kind] += 1
        students[f"s{i:03d}-{label}"] = nb
    return students


def composition(students) -> str:
    kinds = defaultdict(int)
    for student in students:
        kinds[student.split("-", 1)[1].rstrip("0123456789")] += 1
    return ", ".join(f"{count} {kind}" for kind, count in sorted(kinds.items()))


# --- the courses --------------------------------------------------------------------------


def make_template(root: Path, assignment: str) -> Path:
    """A course with the assignment generated into its gradebook and no submissions."""
    Course.temporary(root, [assignment]).generate(assignment)
    return root


def course_copy(template: Path, root: Path, assignment: str, students: dict) -> Path:
    """A copy of the template course (its own nbgrader_config.py and gradebook.db) holding these submissions."""
    shutil.copytree(template, root)
    for student, nb in students.items():
        folder = root / "submitted" / student / assignment
        folder.mkdir(parents=True)
        nbformat.write(nb, folder / f"{assignment}.ipynb")
    return root


def total_scores(root: Path, assignment: str, students) -> dict[str, float | None]:
    """{student: total score} from the course's gradebook; None when it holds no graded submission."""
    scores = {}
    with Course(root).gradebook() as gb:
        for student in students:
            try:
                scores[student] = float(gb.find_submission(assignment, student).score)
            except MissingEntry:
                scores[student] = None
    return scores


# --- the two ways of grading ----------------------------------------------------------------


def busy_cpu_seconds() -> float:
    """CPU time the whole machine has spent busy (user, system, interrupts; not idle, waiting for
    I/O or taken by the host for other machines) since boot, from /proc/stat: the difference over
    a run is the CPU that run used, in every process it started (sandboxed kernels included), plus
    whatever else ran meanwhile."""
    fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    user, nice, system, idle, iowait, irq, softirq = (int(v) for v in fields[:7])
    return (user + nice + system + irq + softirq) / os.sysconf("SC_CLK_TCK")


def engine_startup() -> tuple[float, float]:
    """Seconds (wall, busy CPU) a fresh process takes to import what `course grade` runs. (b)'s wall
    time includes nbgrader's start-up; (a) runs in this process, which has imported all that already."""
    start, cpu = time.perf_counter(), busy_cpu_seconds()
    subprocess.run([sys.executable, "-c", "import course.grading"], cwd=REPO_ROOT, check=True)
    return time.perf_counter() - start, busy_cpu_seconds() - cpu


def grade_with_engine(root: Path, assignment: str, workers: int) -> dict:
    """(a): the engine on the course at root. Returns wall seconds, the start-up a fresh process would
    add, and the engine's own figures: each submission's phases (in its worker) and the parent's work."""
    startup, startup_cpu = engine_startup()
    start, cpu = time.perf_counter(), busy_cpu_seconds()
    engine = GradingEngine(Course(root), workers=workers)
    results = engine.grade(assignment)
    wall, cpu = time.perf_counter() - start, busy_cpu_seconds() - cpu
    errors = {r.student: r.error for r in results if r.status != "graded"}
    phases = {phase: [r.phases.get(phase, 0.0) for r in results] for phase in ("stage", "execute", "save", "kernel_cpu")}
    return {"wall": wall, "cpu": cpu, "startup": startup, "startup_cpu": startup_cpu, "n": len(results), "errors": errors,
            "student_seconds": [r.seconds for r in results], **phases, "parent": engine.parent_seconds}


def nbgrader_command(root: Path, assignment: str) -> list[str]:
    return [NBGRADER, "autograde", assignment, "--force", f"--db=sqlite:///{root / 'gradebook.db'}"]


def grade_with_nbgrader(root: Path, assignment: str) -> dict:
    """(b): nbgrader's autograde, one process, serially, cwd = the course folder; its log goes to
    root/nbgrader-autograde.log."""
    start, cpu = time.perf_counter(), busy_cpu_seconds()
    with open(root / "nbgrader-autograde.log", "w") as log:
        code = subprocess.run(nbgrader_command(root, assignment), cwd=root, stdout=log, stderr=subprocess.STDOUT).returncode
    wall, cpu = time.perf_counter() - start, busy_cpu_seconds() - cpu
    errors = {}
    if code != 0:
        tail = (root / "nbgrader-autograde.log").read_text().strip().splitlines()[-5:]
        errors["(nbgrader)"] = f"exit status {code}: " + " / ".join(tail)
    return {"wall": wall, "cpu": cpu, "n": len(list((root / "submitted").iterdir())), "errors": errors}


# --- one round ------------------------------------------------------------------------------


def run_round(r: int, students: dict, template: Path, workdir: Path, assignment: str, workers: int) -> dict:
    """Both ways on this round's students, each in its own copy of the template course, in
    alternating order. Returns {way: figures} plus each way's total scores."""
    roots = {way: course_copy(template, workdir / f"round{r}-{way}", assignment, students) for way in WAYS}
    order = WAYS if r % 2 == 0 else WAYS[::-1]
    figures = {}
    for way in order:
        if way == "engine":
            figures[way] = grade_with_engine(roots[way], assignment, workers)
        else:
            figures[way] = grade_with_nbgrader(roots[way], assignment)
        figures[way]["scores"] = total_scores(roots[way], assignment, students)
        rate = 60 * figures[way]["n"] / figures[way]["wall"]
        print(f"  round {r}: {way:8} {figures[way]['n']:3d} submissions in {figures[way]['wall']:7.1f} s "
              f"({rate:5.1f}/min)", flush=True)
    figures["order"] = order
    return figures


def disagreements(rounds: list[dict]) -> list[str]:
    """Students whose total score differs between the two ways (or that one way did not grade)."""
    found = []
    for figures in rounds:
        ours, theirs = figures["engine"]["scores"], figures["nbgrader"]["scores"]
        for student in sorted(ours):
            a, b = ours[student], theirs[student]
            if a is None or b is None or abs(a - b) > 1e-9:
                found.append(f"{student}: engine {a}, nbgrader {b}")
    return found


# --- reporting ------------------------------------------------------------------------------


def loadavg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


def engine_breakdown(rounds: list[dict], workers: int) -> float:
    """Where the engine's time goes: each submission's phases in its worker, and the parent's own work."""
    flat = defaultdict(list)
    wall = sum(f["engine"]["wall"] for f in rounds)
    for f in rounds:
        for key in ("student_seconds", "execute", "stage", "save"):
            flat[key] += f["engine"][key]
    if not flat["student_seconds"]:
        return float("nan")
    mean = statistics.mean
    per_student = mean(flat["student_seconds"])
    stage, execute, save = (mean(flat[key]) for key in ("stage", "execute", "save"))
    parent = sum(f["engine"]["parent"] for f in rounds)
    n = len(flat["student_seconds"])
    print("\nwhere the engine's time goes (means per submission):")
    print(table(["", "seconds"], [
        ["a submission in its worker (claimed -> recorded)", f"{per_student:.2f}"],
        ["  stage: intake + sanitize", f"{stage:.2f}"],
        ["  execute in the sandbox", f"{execute:.2f}"],
        ["  save: nbgrader's converter, score, record", f"{save:.2f}"],
        ["the parent's own work (claim, hand out, report)", f"{parent / n:.3f}"],
    ]))
    busy = sum(flat["student_seconds"]) / workers
    print(f"sum of the submissions' seconds / {workers} workers = {busy:.1f} s against {wall:.1f} s of wall time "
          f"({100 * busy / wall:.0f}% of the slots busy with a submission); the parent's own work "
          f"{parent:.2f} s = {1000 * parent / n:.1f} ms per submission, so one parent keeps about "
          f"{per_student / max(parent / n, 1e-9):.0f} workers busy")
    return parent / n


def cpu_breakdown(rounds: list[dict], n: int) -> float:
    """The CPU each way used per submission (the whole machine's, /proc/stat), and the ratio the
    engine could reach at best on this machine's cores with that CPU: its wall time cannot be less
    than its CPU time shared by all the cores, plus its start-up, which runs alone."""
    cores = len(os.sched_getaffinity(0))
    total = {key: sum(f["engine"][key] for f in rounds) for key in ("wall", "cpu", "startup", "startup_cpu")}
    kernels = sum(sum(f["engine"]["kernel_cpu"]) for f in rounds)
    nbgrader_wall = sum(f["nbgrader"]["wall"] for f in rounds)
    nbgrader_cpu = sum(f["nbgrader"]["cpu"] for f in rounds)
    print("\nCPU time of the whole machine while each way ran (/proc/stat, busy), per submission:")
    print(table(["", "CPU s", "wall s", "cores busy"], [
        ["engine (workers, kernels, parent)", f"{total['cpu'] / n:.2f}", f"{total['wall'] / n:.2f}",
         f"{total['cpu'] / total['wall']:.2f}"],
        ["  of which the sandboxed kernels", f"{kernels / n:.2f}", "", ""],
        ["engine's start-up (a fresh process)", f"{total['startup_cpu'] / n:.2f}", f"{total['startup'] / n:.2f}", ""],
        ["nbgrader (its process, kernels)", f"{nbgrader_cpu / n:.2f}", f"{nbgrader_wall / n:.2f}",
         f"{nbgrader_cpu / nbgrader_wall:.2f}"],
    ]))
    ceiling = nbgrader_wall / (total["cpu"] / cores + total["startup"])
    print(f"with this CPU per submission, on {cores} cores kept fully busy, the engine would reach at most "
          f"{ceiling:.2f}x with start-up counted (nbgrader's wall time / (engine CPU / {cores} + start-up))")
    if kernels:
        # nbgrader's autograde runs the same sandboxed kernels (the course routes its Execute through the
        # engine's executor), so this bound holds whatever the engine does around them.
        bound = nbgrader_wall / (kernels / cores + total["startup"])
        print(f"and, if all its work but the kernels cost nothing, at most {bound:.2f}x (nbgrader's wall time / "
              f"(the kernels' CPU / {cores} + start-up)); nbgrader runs the same sandboxed kernels, one at a time")
    return ceiling


def summary(rounds: list[dict], n: int) -> dict[str, float]:
    """The table of rounds; returns the throughput ratios engine / nbgrader, as run and with the
    engine's start-up counted (judged)."""
    rows = []

    def row(label, subs, engine, startup, nbgrader):
        rows.append([label, str(subs), f"{engine:.1f}", f"{startup:.1f}", f"{nbgrader:.1f}",
                     f"{nbgrader / engine:.2f}x", f"{nbgrader / (engine + startup):.2f}x"])

    for r, f in enumerate(rounds):
        row(f"round {r} ({' then '.join(f['order'])})", f["engine"]["n"], f["engine"]["wall"],
            f["engine"]["startup"], f["nbgrader"]["wall"])
    wall = {way: sum(f[way]["wall"] for f in rounds) for way in WAYS}
    startup = sum(f["engine"]["startup"] for f in rounds)
    row("all rounds", n, wall["engine"], startup, wall["nbgrader"])
    print()
    print(table(["", "subs", "engine s", "+ start-up s", "nbgrader s", "ratio as run", "ratio with start-up"], rows))
    rate = {"engine": 60 * n / wall["engine"], "engine with start-up": 60 * n / (wall["engine"] + startup),
            "nbgrader": 60 * n / wall["nbgrader"]}
    print("submissions per minute: " + ", ".join(f"{way} {value:.1f}" for way, value in rate.items()))
    print("(ratio = engine throughput / nbgrader throughput; nbgrader's wall time includes its process start-up,\n"
          " so the judged ratio adds to the engine the start-up of a fresh process importing it, measured each round)")
    return {"as run": rate["engine"] / rate["nbgrader"], "with start-up": rate["engine with start-up"] / rate["nbgrader"]}


# --- main -----------------------------------------------------------------------------------


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--students", type=int, default=100, help="class size N (default 100)")
    parser.add_argument("--assignment", default="01_derivatives", help="assignment to grade (default 01_derivatives)")
    parser.add_argument("--workers", type=int, default=default_workers(),
                        help=f"engine workers (default: what course grade uses, the cores + 1 = {default_workers()})")
    parser.add_argument("--rounds", type=int, default=None,
                        help="slices of the class, graded both ways in alternating order (default: N // 10, 1 to 4)")
    parser.add_argument("--keep", metavar="DIR", help="build the courses in DIR (must not exist) and keep them")
    parser.add_argument("--check", action="store_true", help="also exit 1 if the throughput target is missed")
    args = parser.parse_args(argv)
    if os.geteuid() != 0:
        parser.error("the grading engine starts its kernels as unprivileged users: run this as root (sudo)")
    if args.keep and Path(args.keep).exists():
        parser.error(f"--keep {args.keep}: the folder exists already; name a new one")
    n = args.students
    if n < 1 or args.workers < 1:
        parser.error("--students and --workers must be at least 1")
    rounds = max(1, min(args.rounds or max(1, min(4, n // 10)), n))

    print(f"command: {shlex.join([sys.executable, *sys.argv])}")
    print(environment_line())
    print(f"CPUs: os.cpu_count() = {os.cpu_count()}, usable = {len(os.sched_getaffinity(0))}; "
          f"load average at start: {loadavg()}", flush=True)

    workdir = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="grade-throughput-"))
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        template = make_template(workdir / "template", args.assignment)
        students = build_class(args.assignment, n, template)
        print(f"class: N = {n} submissions of {args.assignment}: {composition(students)}")
        print(f"(a) engine: GradingEngine(Course(root), workers={args.workers}).grade({args.assignment!r}), sandbox on")
        print(f"(b) nbgrader, in the course folder: {shlex.join(nbgrader_command(Path('<course>'), args.assignment))}")
        print(f"{rounds} round(s) of ~{n // rounds} students, each way on its own copy of the course\n", flush=True)
        names = list(students)
        results = [run_round(r, {who: students[who] for who in names[r::rounds]}, template, workdir, args.assignment,
                             args.workers) for r in range(rounds)]
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)

    ratios = summary(results, n)
    parent_per_submission = engine_breakdown(results, args.workers)
    cpu_breakdown(results, n)
    print(f"\nload average at the end: {loadavg()}")
    if args.keep:
        print(f"courses kept in {workdir} (nbgrader's log: round*-nbgrader/nbgrader-autograde.log)")

    problems = [f"{way}: {who}: {why}" for f in results for way in WAYS for who, why in f[way]["errors"].items()]
    differ = disagreements(results)
    for line in problems + differ:
        print(f"  {line}")
    verdicts = Verdicts("grade_throughput")
    ratio = ratios["with start-up"]
    verdicts.add(ratio >= TARGET_RATIO, f"engine >= {TARGET_RATIO}x nbgrader's serial throughput",
                 f"{ratio:.2f}x with the engine's start-up counted ({ratios['as run']:.2f}x as run), {rounds} round(s)")
    verdicts.add(parent_per_submission <= TARGET_PARENT_SECONDS,
                 f"the parent's own work <= {TARGET_PARENT_SECONDS} s per submission",
                 f"{1000 * parent_per_submission:.1f} ms per submission with {args.workers} workers")
    verdicts.add(not differ, "same total score per student both ways",
                 f"{n - len(differ)} of {n} agree" + (f"; {len(problems)} grading problem(s) above" if problems else ""))
    verdicts.finish(args.check or bool(differ))


if __name__ == "__main__":
    main()

"""The sandbox a student's kernel runs in: the command line that starts it.

Built from existing tools, layered from the outside in:

- bubblewrap (`bwrap`) gives the kernel a filesystem of its own: the system and the Python
  installation read-only, the packages the notebooks import (mini_autograd, autograder)
  read-only, a private /tmp, and one writable folder (the submission's private copy). The course,
  its gradebook, the source notebooks and other students' work are simply not there. It also
  gives the kernel its own network namespace (loopback only: no network), PID namespace (every
  process the kernel starts dies with it) and IPC namespace.
- `setpriv` drops from root to an unprivileged user id of its own per worker slot, so that the
  process limit counts only this kernel's processes and no file outside is writable.
- `prlimit` sets resource limits: address space, CPU seconds, processes, file size, open files.

The kernel talks to the grader through ZeroMQ over Unix sockets in the writable folder (the
`ipc` transport), which work across network namespaces.

Without bubblewrap (`Sandbox.isolated == False`, chosen with `course grade --no-sandbox`) the
kernel still runs as the slot's user with the same limits, but sees the whole filesystem and
the network.
"""

from __future__ import annotations

import compileall
import contextlib
import fcntl
import importlib.metadata
import importlib.util
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from .settings import Limits

FIRST_SLOT_UID = 61000
"""Worker slot k runs its kernels as user id FIRST_SLOT_UID + k (no /etc/passwd entry needed)."""

SLOTS = 63
"""Slots 0 to 62 are for `course grade`; slot 63 is nbgrader's own autograde (SandboxedExecute)."""

SLOT_LOCKS = Path("/run/autodiff-grading-slots")
"""One lock file per slot: several grading processes on one machine never share a slot's user id."""


KERNEL_PROGRAM = "import sys; del sys.path[0]; from autograder.grading import kernel_start; kernel_start.main()"
"""What the sandboxed kernel runs: an IPython kernel without the debugger and without matplotlib's
property lists (autograder/grading/kernel_start.py says why). The student's work folder, the
current one, leaves sys.path before the first import, so nothing in it can stand in for the
course's packages."""


class SandboxUnavailable(RuntimeError):
    """The machine cannot run the sandbox; the message says what to install or which option to use."""


COURSE_PACKAGES = ("mini_autograd", "autograder")   # what the notebooks import from the course


def _package_dir(name: str) -> Path:
    """Where an installed package lives, found without importing it (the grader itself needs neither
    numpy nor mini_autograd: importing them would add a tenth of a second to every `course grade`)."""
    return Path(importlib.util.find_spec(name).origin).resolve().parent


def _readonly_paths() -> list[Path]:
    """What a kernel needs to read: the system, the Python installation and the course's packages."""
    paths = [Path("/usr"), Path("/etc"), Path(sys.base_prefix).resolve(), Path(sys.prefix).resolve(),
             *map(_package_dir, COURSE_PACKAGES)]
    seen, unique = set(), []
    for path in paths:
        if path not in seen and path.exists():
            seen.add(path)
            unique.append(path)
    return unique


def compile_course_packages() -> None:
    """Write the bytecode of the course's packages (mini_autograd, autograder) next to them.

    Kernels see these folders read-only, so Python cannot cache their compiled bytecode there
    and every kernel would compile them again (about 0.1 s each; PYTHONDONTWRITEBYTECODE, usual
    in containers, has the same effect on the grader). Compiled once here, before a batch, each
    kernel only reads it. Where the folders are read-only for the grader too, nothing changes.
    """
    for package in COURSE_PACKAGES:
        compileall.compile_dir(_package_dir(package), quiet=2)


def _ancestors(path: Path) -> list[Path]:
    """Parents of path below /, outermost first."""
    return list(reversed(path.parents))[1:]


def bwrap_available() -> str | None:
    """None when bubblewrap works here, else why not."""
    if shutil.which("bwrap") is None:
        return "bubblewrap is not installed (Debian package 'bubblewrap'; scripts/setup.sh installs it)"
    probe = subprocess.run(["bwrap", "--ro-bind", "/", "/", "--unshare-net", "--unshare-pid", "true"],
                           capture_output=True, text=True)
    if probe.returncode != 0:
        return f"bubblewrap cannot create namespaces here: {probe.stderr.strip()}"
    return None


@dataclass(frozen=True)
class Sandbox:
    """How kernels are confined. ``isolated`` uses bubblewrap; limits and the user id apply always."""

    limits: Limits                 # GradingSettings.limits()
    isolated: bool = True

    def check(self) -> None:
        """Raise SandboxUnavailable when this machine cannot run the sandbox as configured."""
        if os.geteuid() != 0:
            raise SandboxUnavailable(
                "the grader must run as root to start kernels as unprivileged users with their own limits "
                "(run `course grade` as root, e.g. with sudo)"
            )
        for tool in ("setpriv", "prlimit"):
            if shutil.which(tool) is None:
                raise SandboxUnavailable(f"`{tool}` is missing (Debian package 'util-linux' / 'coreutils')")
        if self.isolated:
            problem = bwrap_available()
            if problem:
                raise SandboxUnavailable(problem + "; or grade with --no-sandbox (limits only, no isolation)")
        else:
            # Without bubblewrap's view of the filesystem, the slot's user must be able to run this Python.
            probe = subprocess.run([*self.unprivileged_prefix(0), sys.executable, "-c", "import ipykernel, numpy"],
                                   capture_output=True, text=True, cwd="/")
            if probe.returncode != 0:
                raise SandboxUnavailable(
                    f"without bubblewrap the kernels run as user {self.uid(0)}, who cannot run {sys.executable} "
                    f"({probe.stderr.strip().splitlines()[-1] if probe.stderr.strip() else 'exit ' + str(probe.returncode)}). "
                    "Install bubblewrap (Debian package 'bubblewrap') and grade without --no-sandbox, or put "
                    "the Python environment where every user can read it")

    @staticmethod
    def uid(slot: int) -> int:
        return FIRST_SLOT_UID + slot

    def unprivileged_prefix(self, slot: int) -> list[str]:
        """setpriv (the slot's user, no capabilities) then prlimit (the limits), before the kernel's command."""
        uid = str(self.uid(slot))
        return [shutil.which("setpriv"), f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--inh-caps=-all",
                "--", shutil.which("prlimit"), *self.limits.prlimit_options(), "--"]

    def kernel_argv(self, folder: Path, slot: int, connection_file: Path) -> list[str]:
        """The command that starts an IPython kernel confined to ``folder`` (writable), as slot ``slot``'s
        user. The connection file (written by the grader outside the folder) is bound read-only;
        ``{connection_file}`` is filled in by jupyter_client, as in a kernelspec."""
        uid = str(self.uid(slot))
        inner = [
            shutil.which("setpriv"), f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--inh-caps=-all",
            "--", shutil.which("prlimit"), *self.limits.prlimit_options(),
            sys.executable, "-c", KERNEL_PROGRAM, "-f", "{connection_file}",
            "--HistoryManager.hist_file=:memory:",
            # In its PID namespace the kernel's parent is PID 1, which ipykernel would take for
            # "the grader has exited"; bubblewrap's --die-with-parent does that job instead.
            "--IPKernelApp.parent_handle=1",
        ]
        if not self.isolated:
            return inner
        argv = [shutil.which("bwrap"), "--die-with-parent", "--new-session",
                "--unshare-net", "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--hostname", "sandbox",
                "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID",
                "--proc", "/proc", "--dev", "/dev",
                "--perms", "1777", "--size", str(self.limits.tmp_mb * 2**20), "--tmpfs", "/tmp"]
        for name in ("bin", "lib", "lib64", "sbin"):
            link = Path("/") / name
            if link.is_symlink():
                argv += ["--symlink", os.readlink(link), str(link)]
            elif link.is_dir():
                argv += ["--ro-bind", str(link), str(link)]
        made = {Path("/tmp")}
        for path in _readonly_paths() + [folder, connection_file]:
            for parent in _ancestors(path):
                if parent not in made:   # bwrap would create it 0700, unreadable to the kernel's user
                    argv += ["--perms", "0755", "--dir", str(parent)]
                    made.add(parent)
            made.add(path)
            argv += ["--bind" if path == folder else "--ro-bind", str(path), str(path)]
        argv += ["--chdir", str(folder / "work"), "--"]
        return argv + inner

    def environment(self, folder: Path) -> dict[str, str]:
        """The kernel's environment: nothing of the grader's, one thread for BLAS, caches in /tmp."""
        return {
            "PATH": f"{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin",
            "HOME": str(folder / "work"),
            "LANG": "C.UTF-8",
            "IPYTHONDIR": "/tmp/ipython",
            "MPLCONFIGDIR": str(folder / "matplotlib"),
            "MPLBACKEND": "Agg",
            "JUPYTER_RUNTIME_DIR": "/tmp/jupyter",
            "OPENBLAS_NUM_THREADS": "1",
            "OMP_NUM_THREADS": "1",
            "MKL_NUM_THREADS": "1",
            "PYDEVD_DISABLE_FILE_VALIDATION": "1",
            "NBGRADER_EXECUTION": "autograde",
        }

    def clear_slot(self, slot: int, timeout: float = 10.0) -> list[int]:
        """End every process left of the slot's user before its next kernel: the pids found.

        A slot's user belongs to one grading process at a time (``reserved_slots``), so whatever runs
        as that user is left of an earlier kernel: the processes of a killed sandbox, which the kernel
        tears down only after bubblewrap has gone (a fork bomb's take a moment), or, without
        bubblewrap, anything a notebook started in the background. Left running, they count against
        the next kernel's process limit (its start fails) and could write into the next student's
        folder. They are killed, and waited for until gone, for at most ``timeout`` seconds. Called
        before a slot's folder is emptied for a submission, and before a kernel is restarted."""
        uid = self.uid(slot)
        found = left = processes_of_user(uid)
        deadline = time.monotonic() + timeout
        while left and time.monotonic() < deadline:
            for pid in left:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            time.sleep(0.01)
            left = processes_of_user(uid)
        return found

    def prepare_folder(self, folder: Path, slot: int, matplotlib_cache: Path | None = None) -> None:
        """An empty folder for one submission, owned by the slot's user: work/ is the kernel's cwd;
        matplotlib/ starts with a copy of the grader's font cache (building it costs a kernel 0.6 s).
        Nothing of an earlier kernel of the slot is left running (``clear_slot``)."""
        self.clear_slot(slot)
        if folder.exists():
            shutil.rmtree(folder)
        (folder / "work").mkdir(parents=True)
        if matplotlib_cache and matplotlib_cache.is_dir():
            shutil.copytree(matplotlib_cache, folder / "matplotlib")
        else:
            (folder / "matplotlib").mkdir()
        uid = self.uid(slot)
        for path in (folder, *folder.rglob("*")):
            os.chown(path, uid, uid)
        for path in (folder, folder / "work", folder / "matplotlib"):
            os.chmod(path, 0o700)


def processes_of_user(uid: int) -> list[int]:
    """The pids of the processes whose real user id is ``uid`` (zombies included: they still count
    against that user's process limit), read from each process's /proc status."""
    found = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/status", "rb") as status:
                line = next(line for line in status if line.startswith(b"Uid:"))
        except (OSError, StopIteration):   # ended meanwhile
            continue
        if int(line.split()[1]) == uid:
            found.append(int(entry.name))
    return found


def process_tree_cpu_seconds(pid: int) -> float:
    """CPU seconds (user + system) the process ``pid`` and everything below it have used so far:
    their own, and that of their children that have ended and been waited for. Read from /proc
    (a sandbox's processes are visible from outside its PID namespace); 0 for processes that are
    gone. For a kernel's sandbox, ``pid`` is bubblewrap's: the kernel runs below it."""
    tick = os.sysconf("SC_CLK_TCK")
    total, todo = 0, [pid]
    while todo:
        current = todo.pop()
        try:
            stat = Path(f"/proc/{current}/stat").read_text()
            children = [child for task in Path(f"/proc/{current}/task").iterdir()
                        for child in (task / "children").read_text().split()]
        except OSError:          # ended meanwhile
            continue
        fields = stat[stat.rindex(")") + 2:].split()   # (after the command name, which may hold spaces)
        total += sum(int(v) for v in fields[11:15])    # utime, stime, cutime, cstime
        todo += [int(child) for child in children]
    return total / tick


MATPLOTLIB_CACHES = Path("/var/cache/autodiff-grading")
"""Where the kernels' matplotlib font cache is kept, one folder per matplotlib version."""


def build_matplotlib_cache(folder: Path) -> Path:
    """matplotlib's font cache in ``folder``, built by trusted code outside any sandbox."""
    folder.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-c", "import matplotlib.font_manager"], capture_output=True,
                   env={**os.environ, "MPLCONFIGDIR": str(folder), "MPLBACKEND": "Agg"}, check=False)
    return folder


def matplotlib_cache(caches: Path = MATPLOTLIB_CACHES) -> Path:
    """The font cache every kernel starts with (a copy of it, in its own folder): a kernel that
    has to build its own spends 0.2 to 0.6 s on it. Built once per machine and matplotlib
    version, by the first grader that needs it (others may race it: the first rename wins)."""
    folder = caches / f"matplotlib-{importlib.metadata.version('matplotlib')}"
    if not any(folder.glob("fontlist-*.json")):
        caches.mkdir(mode=0o755, parents=True, exist_ok=True)
        fresh = build_matplotlib_cache(Path(tempfile.mkdtemp(prefix="building-", dir=caches)))
        try:
            os.rename(fresh, folder)
        except OSError:              # another grader's is there now
            shutil.rmtree(fresh, ignore_errors=True)
    return folder


@contextlib.contextmanager
def reserved_slots(count: int, locks: Path = SLOT_LOCKS):
    """``count`` slot numbers no other grading process on this machine holds, for the time of the
    block. Each is an exclusive lock on a file, which the kernel releases when the process ends,
    however it ends (kill -9 included)."""
    locks.mkdir(mode=0o700, parents=True, exist_ok=True)
    held: dict[int, int] = {}
    try:
        for slot in range(SLOTS):
            if len(held) == count:
                break
            descriptor = os.open(locks / f"slot-{slot}.lock", os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(descriptor)
                continue
            held[slot] = descriptor
        if len(held) < count:
            raise SandboxUnavailable(
                f"only {len(held)} of the {SLOTS} sandbox slots are free on this machine and {count} are needed: "
                "other grading processes hold the rest; use fewer --workers")
        yield sorted(held)
    finally:
        for descriptor in held.values():
            os.close(descriptor)

"""The grading engine's settings, declared once (nbgrader's traitlets way).

Every setting is a trait of ``GradingSettings`` with its help text. The same key is set

* in the course's ``nbgrader_config.py``:  ``c.GradingSettings.cell_timeout = 60``
* on the command line of ``course grade``:  ``--cell-timeout 60``

and the command line wins. ``course grade``, ``course check``, ``course demo`` and nbgrader's own
autograde through ``SandboxedExecute`` (the formgrader's button) all read them from here, so a
setting means the same thing on every path.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass

from traitlets import Float, Integer, TraitError
from traitlets.config import Configurable



@dataclass(frozen=True)
class Limits:
    """Resource limits of one kernel (enforced by the Linux kernel through setrlimit). What they mean
    and their defaults: GradingSettings (autograder/grading/settings.py), which makes them."""

    address_space_mb: int
    cpu_seconds: int
    processes: int
    file_size_mb: int
    open_files: int
    tmp_mb: int

    def prlimit_options(self) -> list[str]:
        return [
            f"--as={self.address_space_mb * 2**20}",
            f"--cpu={self.cpu_seconds}",
            f"--nproc={self.processes}",
            f"--fsize={self.file_size_mb * 2**20}",
            f"--nofile={self.open_files}",
            "--core=0",
        ]


class GradingSettings(Configurable):
    """How each submission is run: its time, its output, its restarts and its sandbox's limits."""

    cell_timeout = Float(60.0, min=1.0, help=(
        "Seconds one cell may run before the grader stops it; that cell, and the cells it kept "
        "from running, score 0 with a note.")).tag(config=True)

    notebook_timeout = Float(0.0, min=0.0, help=(
        "Seconds a whole notebook may run; the cells left score 0 with a note. 0 means ten times "
        "the cell timeout.")).tag(config=True)

    output_limit = Integer(200_000, min=1000, help=(
        "Characters of output a cell may keep (text, errors, images); the rest is dropped with a "
        "note.")).tag(config=True)

    max_restarts = Integer(8, min=0, help=(
        "Times the kernel is started again in one notebook after it died (a crash, a limit); after "
        "that the cells left are not run.")).tag(config=True)

    address_space_mb = Integer(3072, min=256, help=(
        "Address space of each kernel process, in MiB (numpy, mini_autograd and IPython need about "
        "1 GiB).")).tag(config=True)

    cpu_seconds = Integer(600, min=1, help=(
        "CPU seconds of each kernel process (the wall-clock timeouts usually come first).")).tag(config=True)

    processes = Integer(128, min=1, help=(
        "Processes and threads of a kernel's user: a fork bomb stops here.")).tag(config=True)

    file_size_mb = Integer(64, min=1, help="Largest file a kernel may write, in MiB.").tag(config=True)

    open_files = Integer(256, min=16, help="Files a kernel process may hold open.").tag(config=True)

    tmp_mb = Integer(256, min=1, help="Size of a kernel's private /tmp (in memory), in MiB.").tag(config=True)

    def notebook_seconds(self) -> float:
        """The time a whole notebook may run (notebook_timeout, or ten cell timeouts)."""
        return self.notebook_timeout or 10 * self.cell_timeout

    def limits(self) -> Limits:
        """The sandbox's resource limits of one kernel."""
        return Limits(address_space_mb=self.address_space_mb, cpu_seconds=self.cpu_seconds,
                      processes=self.processes, file_size_mb=self.file_size_mb, open_files=self.open_files,
                      tmp_mb=self.tmp_mb)

    def run_options(self) -> dict:
        """What the executor needs of these settings for one submission (ExecutionJob's fields)."""
        return {"cell_timeout": self.cell_timeout, "notebook_timeout": self.notebook_seconds(),
                "output_limit": self.output_limit, "max_restarts": self.max_restarts}


def _option(name: str) -> str:
    return "--" + name.replace("_", "-")


def add_options(parser: argparse.ArgumentParser) -> None:
    """One command-line option per setting (``--cell-timeout`` for ``cell_timeout``), with its help."""
    group = parser.add_argument_group(
        "grading settings", "each is also c.GradingSettings.<name> in nbgrader_config.py; the option wins")
    for name, trait in GradingSettings.class_traits(config=True).items():
        kind = float if isinstance(trait, Float) else int
        unit = "SECONDS" if name.endswith(("timeout", "seconds")) else "MIB" if name.endswith("_mb") else "N"
        group.add_argument(_option(name), dest=name, type=kind, default=None, metavar=unit, help=f"{trait.help} (default {trait.default_value:g}, or the course's config)")


def settings_from(config, options=None) -> GradingSettings:
    """The course's settings (its nbgrader config), with the options given on the command line on top."""
    given = {name: getattr(options, name) for name in GradingSettings.class_trait_names(config=True)
             if getattr(options, name, None) is not None}
    try:
        return GradingSettings(config=config, **given)
    except TraitError as error:
        raise ValueError(f"{error} (a setting of c.GradingSettings in nbgrader_config.py, or its option of "
                         "`course grade`, e.g. --cell-timeout for cell_timeout)") from None

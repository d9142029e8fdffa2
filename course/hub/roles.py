"""python -m course.hub.roles --roles DIR [--course-id ID] [--exchange DIR]: only the per-role Jupyter
configuration of course/hub/config.py, for an image whose hub runs elsewhere (deploy/image/Dockerfile:
Kubernetes' pre_spawn_hook points JUPYTER_CONFIG_PATH at DIR/<role>)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .config import EXTENSIONS, write_role_folders


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m course.hub.roles", description=__doc__.split(":")[0])
    parser.add_argument("--roles", required=True, type=Path, help="where to write the <role>/ folders")
    parser.add_argument("--course-id", default="autodiff")
    parser.add_argument("--exchange", type=Path, default=Path("/srv/nbgrader/exchange"))
    args = parser.parse_args(argv)
    write_role_folders(args.roles, args.course_id, args.exchange)
    print(f"wrote the {', '.join(EXTENSIONS)} role folders in {args.roles}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

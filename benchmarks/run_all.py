"""Run every benchmark, each in its own fresh process, and print a combined summary.

    python benchmarks/run_all.py            # full run (a few minutes)
    python benchmarks/run_all.py --quick    # smoke run
    python benchmarks/run_all.py --check    # exit 1 if any target fails (or a script crashes)

Each script pins BLAS/OpenMP to one thread itself; running them in separate processes keeps
one benchmark's heap (and garbage-collector state) from affecting the next.
"""

import os

for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_name] = "1"

import argparse  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPTS = ["mlp_step.py", "op_overhead.py", "backward_scaling.py"]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="exit 1 if any target fails")
    parser.add_argument("--quick", action="store_true", help="pass --quick to every script")
    parser.add_argument("--profile", action="store_true", help="pass --profile to the scripts that have it")
    args = parser.parse_args()

    verdicts, errors, durations = [], [], {}
    for script in SCRIPTS:
        command = [sys.executable, os.path.join(HERE, script)]
        if args.quick:
            command.append("--quick")
        if args.profile and script != "backward_scaling.py":
            command.append("--profile")
        banner = f" {script} "
        print(f"{banner:=^100}", flush=True)
        start = time.perf_counter()
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                   cwd=os.path.dirname(HERE), env=os.environ.copy())
        for line in process.stdout:  # stream the script's output as it comes
            print(line, end="", flush=True)
            if line.startswith(("PASS  ", "FAIL  ")):
                verdicts.append(line.rstrip("\n"))
        returncode = process.wait()
        durations[script] = time.perf_counter() - start
        if returncode != 0:
            errors.append(f"ERROR {script}: exited with status {returncode}")
        print()

    print(f"{' summary ':=^100}")
    for script in SCRIPTS:
        print(f"{script:22s} ran in {durations[script]:6.1f} s")
    print()
    for line in verdicts + errors:
        print(line)
    failed = sum(line.startswith("FAIL") for line in verdicts)
    print(f"\n{len(verdicts) - failed} of {len(verdicts)} targets met" + (f"; {len(errors)} script error(s)" if errors else ""))
    sys.exit(1 if args.check and (failed or errors) else 0)


if __name__ == "__main__":
    main()

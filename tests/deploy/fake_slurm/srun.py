"""Stand-in for SLURM's ``srun`` on one machine, for tests of the sbatch script.

Each ``-w NODE`` is a "node" of this machine: the command runs here, in its own process
group (recorded under ``$FAKE_SLURM_STATE/NODE/``), with ``SLURMD_NODENAME=NODE``; like
srun, SIGTERM and SIGINT are passed on to it and its exit status is srun's.

``ray stop`` is emulated, never run: the real one stops every Ray process of the user on
the machine (other tests' clusters included), while on a real node it stops that node's
Ray. So ``srun -w NODE ray stop`` stops the process groups this stand-in started on
NODE (SIGTERM, then SIGKILL after 10 s), which is what ``ray stop`` does there.

Only the options the script uses are accepted, so a change to them fails loudly; each
call's arguments are appended to ``$FAKE_SLURM_STATE/calls``.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

STATE = Path(os.environ.get("FAKE_SLURM_STATE", "."))
FLAGS = {"--nodes=1", "--ntasks=1", "--overlap"}
VALUED = ("--cpus-per-task=", "--gpus-per-task=")


def parse(argv: list[str]) -> tuple[str, list[str]]:
    node = None
    index = 0
    while index < len(argv) and argv[index].startswith("-"):
        option = argv[index]
        if option == "-w":
            node = argv[index + 1]
            index += 2
            continue
        if option not in FLAGS and not option.startswith(VALUED):
            sys.exit(f"fake srun: option {option!r} is not supported")
        index += 1
    if node is None or index == len(argv):
        sys.exit(f"fake srun: need -w NODE and a command, got {argv}")
    return node, argv[index:]


def stop_node(node: str) -> int:
    groups = [int(path.stem) for path in (STATE / node).glob("*.pgid")]
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for group in groups:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(group, sig)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(alive(group) for group in groups):
            time.sleep(0.1)
    print(f"fake srun: stopped Ray on {node} ({len(groups)} process groups)")
    return 0


def alive(group: int) -> bool:
    """Whether a process of ``group`` still runs (zombies, which a container's PID 1
    may leave unreaped for a while, do not count)."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == group and fields[0] != "Z":
            return True
    return False


def run(node: str, command: list[str]) -> int:
    env = dict(os.environ, SLURMD_NODENAME=node)
    process = subprocess.Popen(command, env=env, start_new_session=True)
    record = STATE / node / f"{process.pid}.pgid"
    record.parent.mkdir(parents=True, exist_ok=True)
    record.touch()
    with (STATE / "all-pgids").open("a") as every:
        every.write(f"{process.pid}\n")

    def forward(signum: int, frame: object) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signum)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    status = process.wait()
    record.unlink(missing_ok=True)
    return status if status >= 0 else 128 - status


def main() -> int:
    with (STATE / "calls").open("a") as calls:  # one line per call, for the tests
        calls.write(shlex.join(sys.argv[1:]) + "\n")
    node, command = parse(sys.argv[1:])
    if command == ["ray", "stop"]:
        return stop_node(node)
    return run(node, command)


if __name__ == "__main__":
    sys.exit(main())

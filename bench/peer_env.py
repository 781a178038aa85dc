"""Create and cache the virtual environment that holds the peer engine, DALiuGE 6.6.0.

Design
------
The peer (DALiuGE) must never share an interpreter with liuray: its packages pin old
versions of common libraries and it mutates process-wide state (``os.chdir``, root log
handlers). So the benchmark keeps it in its own venv, by default ``bench/.peer-venv``
(ignored by git), and talks to it only through ``bench/peer_daliuge.py`` run as a
subprocess with that venv's ``python``.

``ensure_peer_venv`` is idempotent: a marker file inside the venv records the exact
requirement set that was installed successfully; if the marker matches, nothing is done.
Only the standard library is used, so the harness can call this from any Python 3.11.

``run_peer`` is the one call the harness needs to measure the peer: it runs
``bench/peer_daliuge.py`` under the peer's python and returns its JSON line as a dict.

Command line: ``python bench/peer_env.py [PATH]`` installs (if needed) and prints the
path of the peer's python on stdout.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import venv
from pathlib import Path
from typing import Any

#: The exact peer we compare against.
PEER_VERSION = "6.6.0"
PEER_REQUIREMENTS: tuple[str, ...] = (
    f"daliuge-engine=={PEER_VERSION}",
    f"daliuge-translator=={PEER_VERSION}",
    f"daliuge-common=={PEER_VERSION}",
)
MARKER_NAME = ".liuray-peer-installed"
BENCH_DIR = Path(__file__).resolve().parent
DEFAULT_VENV = BENCH_DIR / ".peer-venv"
PEER_SCRIPT = BENCH_DIR / "peer_daliuge.py"


class PeerInstallError(RuntimeError):
    """Raised when the peer's virtual environment cannot be created or populated."""


def _log(msg: str) -> None:
    print(f"[peer_env] {msg}", file=sys.stderr, flush=True)


def venv_python(path: Path) -> Path:
    """Return the interpreter path inside the venv at ``path`` (POSIX layout)."""
    return path / "bin" / "python"


def _marker_text() -> str:
    return "\n".join(PEER_REQUIREMENTS) + "\n"


def ensure_peer_venv(path: str | Path = DEFAULT_VENV) -> Path:
    """Make sure a venv with DALiuGE 6.6.0 exists at ``path``; return its python.

    Creates the venv if missing, pip-installs the three ``daliuge-*==6.6.0`` packages
    unless the marker file says they are already there, and checks that ``dlg.manager``
    imports. Progress goes to stderr.

    Raises:
        PeerInstallError: venv creation, ``pip install`` or the import check failed.
    """
    root = Path(path).resolve()
    python = venv_python(root)
    marker = root / MARKER_NAME
    if python.exists() and marker.exists() and marker.read_text() == _marker_text():
        return python

    if not python.exists():
        _log(f"creating venv at {root}")
        try:
            venv.EnvBuilder(with_pip=True, clear=False).create(root)
        except Exception as exc:  # re-raised with context
            raise PeerInstallError(f"could not create the peer venv at {root}: {exc}") from exc

    cmd = [
        str(python),
        "-m",
        "pip",
        "install",
        "--disable-pip-version-check",
        "-q",
        *PEER_REQUIREMENTS,
    ]
    _log("installing " + " ".join(PEER_REQUIREMENTS) + " (about 30-60 s)")
    start = time.monotonic()
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if proc.returncode != 0:
        tail = "\n".join(proc.stdout.splitlines()[-30:])
        raise PeerInstallError(
            f"installing the peer (DALiuGE {PEER_VERSION}) into {root} failed "
            f"(pip exit code {proc.returncode}); last pip output:\n{tail}"
        )
    _log(f"pip finished in {time.monotonic() - start:.1f} s; checking the import")

    check = subprocess.run(
        [str(python), "-c", "import dlg.manager.session, dlg.clients; print('ok')"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    if check.returncode != 0:
        raise PeerInstallError(
            f"DALiuGE {PEER_VERSION} installed into {root} but does not import:\n"
            + "\n".join(check.stdout.splitlines()[-20:])
        )
    marker.write_text(_marker_text())
    _log(f"peer ready: {python}")
    return python


class PeerRunFailed(RuntimeError):
    """Raised when ``peer_daliuge.py`` exits non-zero or prints no JSON line."""


def run_peer(
    mode: str,
    workload: str,
    n: int,
    *,
    python: str | Path | None = None,
    extra_args: list[str] | None = None,
    timeout: float = 1200.0,
) -> dict[str, Any]:
    """Run one peer measurement in a subprocess and return its JSON record.

    Equivalent to ``[python, "bench/peer_daliuge.py", mode, workload, str(n), *extra_args]``
    (``python`` defaults to the peer venv, installed on demand). The child's stderr is
    passed through to ours.

    Raises:
        PeerRunFailed: the run failed (the message carries the record's ``error``).
    """
    py = Path(python) if python is not None else ensure_peer_venv()
    cmd = [str(py), str(PEER_SCRIPT), mode, workload, str(n), *(extra_args or [])]
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, timeout=timeout)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if not lines:
        raise PeerRunFailed(f"{' '.join(cmd)} exited {proc.returncode} with no JSON line")
    record: dict[str, Any] = json.loads(lines[-1])
    if proc.returncode != 0 or "error" in record:
        raise PeerRunFailed(f"{' '.join(cmd)} failed: {record.get('error', proc.returncode)}")
    return record


def main(argv: list[str] | None = None) -> int:
    """CLI entry point: install if needed, print the peer python's path."""
    args = sys.argv[1:] if argv is None else argv
    try:
        python = ensure_peer_venv(args[0]) if args else ensure_peer_venv()
    except PeerInstallError as exc:
        _log(str(exc))
        return 1
    print(python)
    return 0


if __name__ == "__main__":
    sys.exit(main())

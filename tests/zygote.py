"""Gateway processes forked from one process that has already imported them.

Most of a test gateway's start is Python importing: `import ordergate.app` costs 1.8-3.8 s of
CPU depending on the machine, and warming the offline geocoder (the postal tables) another
~0.4 s. A suite starts dozens of gateways. One zygote per test process (`python -m
tests.zygote`, started at the first gateway) imports uvicorn and the app once and warms the
geocoder; each gateway is then a fork of it that sets its own environment, working directory
and log file and runs uvicorn's command line, as `python -m uvicorn ...` does. What a gateway
does from there (settings read from its environment, `create_app`, its lifespan: migrations,
seeding, the ERP's first read) is the same code as in a fresh interpreter; only the imports and
the geocoder's tables are inherited. `ordergate serve` (tests/test_workers.py,
tests/test_cli.py) still starts fresh interpreters, so a real start stays tested.

The zygote is the gateways' parent, so it also reaps them: a test's `ForkedProcess` asks it
(`poll`) whether one has exited, and signals it directly. One JSON line per request and per
answer on the zygote's stdin and stdout.
"""

from __future__ import annotations

import atexit
import contextlib
import io
import json
import os
import signal
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


# --- the test side ------------------------------------------------------------------------------


class Zygote:
    """The test process's handle on its zygote (one per process, started on first use)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._process: subprocess.Popen[bytes] | None = None

    def _started(self) -> subprocess.Popen[bytes]:
        if self._process is None or self._process.poll() is not None:
            self._process = subprocess.Popen(
                [sys.executable, "-m", "tests.zygote"],
                cwd=ROOT,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
            )
        return self._process

    def close(self) -> None:
        """Closing its stdin ends the zygote (at exit of the test process)."""
        with self._lock:
            process, self._process = self._process, None
        if process is not None and process.stdin is not None:
            process.stdin.close()
            process.wait(10)
            if process.stdout is not None:
                process.stdout.close()

    def ask(self, request: Mapping[str, Any]) -> dict[str, Any]:
        with self._lock:
            process = self._started()
            assert process.stdin is not None
            assert process.stdout is not None
            process.stdin.write(json.dumps(request).encode() + b"\n")
            process.stdin.flush()
            line = process.stdout.readline()
        if not line:
            raise RuntimeError(f"the gateway zygote exited with {process.wait()}")
        answer: dict[str, Any] = json.loads(line)
        if "error" in answer:
            raise RuntimeError(f"the gateway zygote could not {request['op']}: {answer['error']}")
        return answer

    def spawn(self, argv: Sequence[str], env: Mapping[str, str], cwd: Path, log_path: Path) -> ForkedProcess:
        answer = self.ask(
            {"op": "spawn", "argv": list(argv), "env": dict(env), "cwd": str(cwd), "log": str(log_path)}
        )
        return ForkedProcess(self, int(answer["pid"]))


ZYGOTE = Zygote()
atexit.register(ZYGOTE.close)


class ForkedProcess:
    """What tests use of `subprocess.Popen`, for a gateway the zygote forked."""

    def __init__(self, zygote: Zygote, pid: int) -> None:
        self.zygote = zygote
        self.pid = pid
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None:
            self.returncode = self.zygote.ask({"op": "poll", "pid": self.pid})["returncode"]
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while (code := self.poll()) is None:
            if deadline is not None and time.monotonic() >= deadline:
                raise subprocess.TimeoutExpired(f"gateway {self.pid}", timeout or 0.0)
            time.sleep(0.02)
        return code

    def send_signal(self, number: int) -> None:
        if self.poll() is None:
            os.kill(self.pid, number)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)


def forking_works() -> bool:
    """Fork where the platform has it; `ORDERGATE_TEST_FORKED_GATEWAYS=0` starts each gateway
    as its own interpreter instead (to rule the zygote out when a start misbehaves)."""
    return hasattr(os, "fork") and os.environ.get("ORDERGATE_TEST_FORKED_GATEWAYS", "1") != "0"


# --- the zygote ----------------------------------------------------------------------------------


def _run_uvicorn(request: Mapping[str, Any]) -> int:
    """In the forked child: become the gateway `request` describes and run it to the end."""
    log = os.open(request["log"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.close(log)
    os.close(null)
    sys.stdin = open(0, closefd=False)  # noqa: SIM115 - the process's own descriptors, kept open
    sys.stdout = io.TextIOWrapper(io.FileIO(1, "w", closefd=False), write_through=True)
    sys.stderr = io.TextIOWrapper(io.FileIO(2, "w", closefd=False), write_through=True)
    os.environ.clear()
    os.environ.update(request["env"])
    os.chdir(request["cwd"])
    sys.argv = ["uvicorn", *request["argv"]]
    signal.signal(signal.SIGINT, signal.default_int_handler)
    from uvicorn.main import main

    try:
        main.main(args=list(request["argv"]), prog_name="uvicorn", standalone_mode=True)
    except SystemExit as stop:
        return stop.code if isinstance(stop.code, int) else (0 if stop.code is None else 1)
    except BaseException:
        traceback.print_exc()
        return 1
    return 0


def _spawn(request: Mapping[str, Any]) -> int:
    pid = os.fork()
    if pid:
        return pid
    code = 1
    try:
        os.closerange(3, 1 << 16)  # the answers' pipe among them: the test side sees the zygote's end
        code = _run_uvicorn(request)
    finally:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):  # exiting either way
                stream.flush()
        os._exit(code)


def _poll(pid: int, exited: dict[int, int]) -> int | None:
    if pid not in exited:
        try:
            done, status = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            return exited.get(pid, -1)
        if done:
            exited[pid] = os.waitstatus_to_exitcode(status)
    return exited.get(pid)


def serve() -> None:
    """Import once, warm once, then fork a gateway per request until stdin closes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a Ctrl-C is the test run's to handle
    import uvicorn.main  # noqa: F401

    from ordergate.app import create_app  # noqa: F401
    from ordergate.connectors.geocoding import OfflineGeocoder

    OfflineGeocoder().warm()
    answers = os.fdopen(os.dup(1), "w")
    exited: dict[int, int] = {}
    for line in sys.stdin:
        request = json.loads(line)
        try:
            if request["op"] == "spawn":
                answer: dict[str, Any] = {"pid": _spawn(request)}
            elif request["op"] == "poll":
                answer = {"returncode": _poll(int(request["pid"]), exited)}
            else:
                answer = {"error": f"unknown op {request['op']!r}"}
        except Exception as error:
            answer = {"error": repr(error)}
        answers.write(json.dumps(answer) + "\n")
        answers.flush()


if __name__ == "__main__":
    serve()

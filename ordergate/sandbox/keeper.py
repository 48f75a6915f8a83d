"""Keeping the sandboxes' state across restarts: one JSON file per sandbox in a directory.

A file holds `{format, version, sandbox, saved_at, state}`, where `state` is what the sandbox's
`to_state()` returned. At start `keep(name, sandbox)` restores the sandbox from its file; a file
that cannot be used (unreadable, not JSON, another format or version, or state the sandbox
refuses) is set aside, renamed `<name>.json.<reason>-<UTC stamp>`, and logged, and the sandbox
starts fresh: a bad file never stops the gateway. So is every file when the keeper is told the
store behind it is new (`stale=True`), so that a fresh database gets fresh sandboxes.

`save()` writes each sandbox whose state changed since it was last written, to a temporary file
beside it then `os.replace`: a reader, another process or a kill -9 never meets a half-written
file (two processes saving at once leave one whole file: the last one's). `run()` saves every
`interval` seconds while the gateway serves, and `aclose()` once more at the end, so a kill -9
loses at most about that much.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

logger = logging.getLogger(__name__)

FORMAT = "ordergate.sandbox-state"
VERSION = 1
SAVE_INTERVAL = 1.0
STRAY_SECONDS = 60.0
RESTORE_ERRORS = (ValueError, TypeError, KeyError, IndexError, AttributeError, ArithmeticError)
"""What restoring from well-formed JSON of the wrong shape raises (InvalidOperation is arithmetic)."""


class Snapshotting(Protocol):
    """A sandbox whose whole state goes to JSON-able data and comes back from it."""

    def to_state(self) -> dict[str, Any]: ...

    def restore(self, state: Mapping[str, Any]) -> None:
        """Replace the state with `state` (from `to_state`), or raise and change nothing."""


class Unusable(Exception):
    """A state file that is set aside; `reason` goes into its new name."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason


class StateKeeper:
    """Restores sandboxes from `directory` and saves them back to it."""

    def __init__(
        self,
        directory: Path,
        *,
        stale: bool = False,
        interval: float = SAVE_INTERVAL,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.directory = directory
        self.stale = stale
        self.interval = interval
        self.clock = clock
        self.saves = 0
        self._kept: dict[str, Snapshotting] = {}
        self._written: dict[str, str] = {}
        self._writing = threading.Lock()  # `run` writes from a worker thread

    def path(self, name: str) -> Path:
        return self.directory / f"{name}.json"

    def keep(self, name: str, sandbox: Snapshotting) -> bool:
        """Restore `sandbox` from its file, if it has a usable one, and save it from now on.
        Whether it was restored."""
        self._kept[name] = sandbox
        self._sweep(name)
        path = self.path(name)
        if not path.exists():
            return False
        try:
            if self.stale:
                raise Unusable("stale", "the database it went with is gone")
            state = self._read(name, path)
            sandbox.restore(state)
        except Unusable as unusable:
            self._set_aside(path, unusable.reason, str(unusable))
            return False
        except RESTORE_ERRORS as error:
            self._set_aside(path, "unreadable", f"{type(error).__name__}: {error}")
            return False
        self._written[name] = _dumped(state)
        logger.info("sandbox %s: restored its state from %s", name, path)
        return True

    def save(self) -> int:
        """Write every kept sandbox whose state changed since it was last written; how many were.
        A write that fails is logged and tried again at the next save."""
        changed = self._changed()
        for name, text in changed.items():
            self._write(name, text)
        return len(changed)

    async def run(self, stop: asyncio.Event) -> None:
        """Save every `interval` seconds until `stop` is set; files are written off the loop."""
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.interval)
            for name, text in self._changed().items():
                await asyncio.to_thread(self._write, name, text)

    async def aclose(self) -> None:
        self.save()

    def _changed(self) -> dict[str, str]:
        # Snapshots are taken on the loop's thread, between requests, so each is consistent.
        changed: dict[str, str] = {}
        for name, sandbox in self._kept.items():
            try:
                text = _dumped(sandbox.to_state())
            except (TypeError, ValueError):  # a value JSON cannot hold: a bug, not a reason to stop
                logger.exception("sandbox %s: its state could not be saved", name)
                continue
            if self._written.get(name) != text:
                changed[name] = text
        return changed

    def _read(self, name: str, path: Path) -> Mapping[str, Any]:
        try:
            document = json.loads(path.read_bytes())
        except OSError as error:
            raise Unusable("unreadable", str(error)) from None
        except ValueError as error:
            raise Unusable("corrupt", f"not JSON: {error}") from None
        if not isinstance(document, dict) or document.get("format") != FORMAT:
            raise Unusable("corrupt", "not a sandbox state file")
        if document.get("version") != VERSION or document.get("sandbox") != name:
            found = f"version {document.get('version')!r} of {document.get('sandbox')!r}"
            raise Unusable(f"v{document.get('version')}", f"{found}, not version {VERSION} of {name!r}")
        state = document.get("state")
        if not isinstance(state, dict):
            raise Unusable("corrupt", "no state in it")
        return state

    def _write(self, name: str, text: str) -> None:
        with self._writing:
            self._write_file(name, text)

    def _write_file(self, name: str, text: str) -> None:
        saved_at = datetime.fromtimestamp(self.clock(), UTC).isoformat()
        envelope = f'{{"format": "{FORMAT}", "version": {VERSION}, "sandbox": {json.dumps(name)}, '
        document = f'{envelope}"saved_at": "{saved_at}", "state": {text}}}\n'
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=self.directory)
            try:
                with os.fdopen(handle, "w", encoding="utf-8") as file:
                    file.write(document)
                    file.flush()
                    os.fsync(file.fileno())
                os.replace(temporary, self.path(name))
            except BaseException:
                Path(temporary).unlink(missing_ok=True)
                raise
        except OSError as error:
            logger.warning("sandbox %s: could not save its state to %s: %s", name, self.directory, error)
            return
        self._written[name] = text
        self.saves += 1

    def _sweep(self, name: str) -> None:
        """Remove temporary files a killed process left half written (any younger may be another
        process's, being written now)."""
        for stray in self.directory.glob(f".{name}.*.tmp"):
            with contextlib.suppress(OSError):
                if stray.stat().st_mtime < self.clock() - STRAY_SECONDS:
                    stray.unlink()

    def _set_aside(self, path: Path, reason: str, detail: str) -> None:
        stamp = datetime.fromtimestamp(self.clock(), UTC).strftime("%Y%m%dT%H%M%SZ")
        aside = path.with_name(f"{path.name}.{reason}-{stamp}")
        try:
            path.replace(aside)
        except OSError as error:
            logger.warning(
                "sandbox state %s is unusable (%s) and could not be set aside: %s", path, detail, error
            )
            return
        logger.warning(
            "sandbox state %s set aside as %s (%s); the sandbox starts fresh", path, aside.name, detail
        )


def _dumped(state: Mapping[str, Any]) -> str:
    return json.dumps(state, sort_keys=True, separators=(",", ":"), allow_nan=False)

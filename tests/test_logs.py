"""How the gateway's log reads: text for a person at a terminal, JSON for a collector, and
quiet about every HTTP call at INFO."""

from __future__ import annotations

import io
import json
import logging
import sys

import pytest

from ordergate import logs
from ordergate.settings import Settings


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(("terminal", "json_lines"), [(True, False), (False, True)])
def test_logs_are_text_at_a_terminal_and_json_elsewhere_by_default(
    monkeypatch: pytest.MonkeyPatch, terminal: bool, json_lines: bool
) -> None:
    stream = _Terminal() if terminal else io.StringIO()
    monkeypatch.setattr(sys, "stderr", stream)
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        logs.configure("INFO", Settings().log_format)
        logging.getLogger("ordergate.test").info("hello")
    finally:
        root.handlers[:], level = saved
        root.setLevel(level)
    line = stream.getvalue().strip()
    assert line.startswith("{") is json_lines
    assert "hello" in line


def test_httpx_s_line_per_request_is_kept_for_debug() -> None:
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        logs.configure("INFO", "json")
        assert logging.getLogger("httpx").getEffectiveLevel() == logging.WARNING
        assert logging.getLogger("mail.log").getEffectiveLevel() == logging.WARNING  # the SMTP sink
        logs.configure("DEBUG", "json")
        assert logging.getLogger("httpx").getEffectiveLevel() == logging.DEBUG
    finally:
        root.handlers[:], level = saved
        root.setLevel(level)
        logging.getLogger("httpx").setLevel(logging.NOTSET)
        logging.getLogger("httpcore").setLevel(logging.NOTSET)
        logging.getLogger("mail.log").setLevel(logging.NOTSET)


def test_a_line_goes_to_the_stderr_of_the_moment_not_to_one_closed_since(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A test runner gives each test a stderr of its own and closes it after: a handler bound to
    the stream of the test that configured the log failed every later line ("Logging error ...
    I/O operation on closed file", the line lost)."""
    then, now = io.StringIO(), io.StringIO()
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        monkeypatch.setattr(sys, "stderr", then)
        logs.configure("INFO", "json")
        then.close()
        monkeypatch.setattr(sys, "stderr", now)
        logging.getLogger("ordergate.test").info("after the swap")
    finally:
        root.handlers[:], level = saved
        root.setLevel(level)
    [line] = now.getvalue().splitlines()
    assert json.loads(line)["message"] == "after the swap"

"""Structured logs: one JSON object per line, carrying the request id of the request being
served (the same id is returned in the `X-Request-Id` header), the trace and span ids while
a span is being recorded, plus any `extra` fields."""

from __future__ import annotations

import json
import logging
import re
import sys
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from ordergate import tracing

REQUEST_ID: ContextVar[str | None] = ContextVar("ordergate_request_id", default=None)
_STANDARD = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime"}
# What a database error quotes of the rows it was given: PostgreSQL's DETAIL lines (`Key
# (email)=(ann@example.com) already exists`, `Failing row contains (...)`) and SQLAlchemy's
# parameter list, in case an engine shows it. Customers' data has no place in a log line.
_QUOTED_DATA = re.compile(r"DETAIL:[^\n]*|\[parameters: .*?\](?=\n|$)", re.DOTALL)


def scrub(text: str) -> str:
    return _QUOTED_DATA.sub(lambda m: m.group(0).split(":", 1)[0] + ": [hidden]", text)


class ScrubbingFormatter(logging.Formatter):
    """Plain text lines, scrubbed as the JSON ones are."""

    def format(self, record: logging.LogRecord) -> str:
        return scrub(super().format(record))


class JsonFormatter(logging.Formatter):
    def formatException(self, ei: Any) -> str:  # noqa: N802 - logging's name
        return scrub(super().formatException(ei))

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": scrub(record.getMessage()),
        }
        request_id = REQUEST_ID.get()
        if request_id is not None:
            entry["request_id"] = request_id
        ids = tracing.current_ids()
        if ids is not None:
            entry["trace_id"], entry["span_id"] = ids
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value if isinstance(value, (str, int, float, bool, type(None))) else repr(value)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


class StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever `sys.stderr` is when a record comes, as logging's own last resort
    does, not to the stream it was when the handler was made: a process that swaps its stderr
    (a test runner capturing each test's output, then closing it) still gets every line, where
    a bound stream would have it fail with "I/O operation on closed file"."""

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, _: Any) -> None:
        pass  # StreamHandler's own __init__ sets it: ignored


def configure(level: str, style: str) -> None:
    """`style` is `json` (one object per line), `text` (for a person at a terminal) or `auto`
    (text when the log goes to a terminal). httpx's line per request (every upstream and
    sandbox call) is kept for DEBUG."""
    handler = StderrHandler()
    if style == "auto":
        style = "text" if handler.stream.isatty() else "json"
    if style == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(ScrubbingFormatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    quiet = logging.DEBUG if root.level <= logging.DEBUG else logging.WARNING
    # The sandboxes' own traffic (HTTP between in-process upstreams, the SMTP sink's every
    # command) is quiet unless asked for with DEBUG.
    for name in ("httpx", "httpcore", "mail.log"):
        logging.getLogger(name).setLevel(quiet)

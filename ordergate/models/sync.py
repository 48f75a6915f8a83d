"""Where a resumable import from an upstream got to."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(kw_only=True, eq=False)
class SyncCheckpoint:
    """`watermark` is the newest modification time fully imported; a run resumes from it."""

    name: str
    watermark: datetime | None = None
    imported: int = 0
    updated_at: datetime

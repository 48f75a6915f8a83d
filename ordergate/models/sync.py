"""Where a resumable import from an upstream got to."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from ordergate.models.columns import UTCDateTime


class SyncCheckpoint(SQLModel, table=True):
    """`watermark` is the newest modification time fully imported; a run resumes from it."""

    __tablename__ = "sync_checkpoints"

    name: str = Field(primary_key=True, max_length=64)
    watermark: datetime | None = Field(default=None, sa_type=UTCDateTime)
    imported: int = 0
    updated_at: datetime = Field(sa_type=UTCDateTime)

"""Record ids: made by the domain when a record is created, never by the database."""

from __future__ import annotations

import uuid


def new_id() -> str:
    return str(uuid.uuid4())

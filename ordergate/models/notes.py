"""Staff notes and tags on orders, customers and fulfilment orders.

A note is who wrote what, when; it is never edited (write another). A tag is a short label a
team searches by (`vip`, `fraud-review`, `wholesale:acme`), kept lowercased, once per target.
Customers never see either.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from ordergate.models.errors import Problem, ValidationFailed
from ordergate.models.ids import new_id

MAX_NOTE = 2000
MAX_TAG = 40
MAX_TAGS_PER_TARGET = 25
TAG = re.compile(r"[a-z0-9][a-z0-9_:.-]*")


class TargetKind(StrEnum):
    ORDER = "ORDER"
    CUSTOMER = "CUSTOMER"
    FULFILLMENT_ORDER = "FULFILLMENT_ORDER"


@dataclass(kw_only=True, eq=False)
class Note:
    id: str = field(default_factory=new_id)
    target_kind: TargetKind
    target_id: str
    body: str
    author: str
    created_at: datetime


@dataclass(kw_only=True, eq=False)
class Tag:
    id: str = field(default_factory=new_id)
    target_kind: TargetKind
    target_id: str
    tag: str
    added_by: str
    added_at: datetime


def normal_tag(text: str) -> str:
    """How a tag is kept and searched: trimmed, lowercased."""
    return text.strip().lower()


def check_tags(tags: list[str], path: tuple[str, ...] = ("tags",)) -> list[str]:
    """The tags as kept (normalised, each once, in the order given); INVALID_TAG naming each that
    is empty, too long, or has characters other than letters, digits and `_ : . -`."""
    problems, kept = [], []
    for index, raw in enumerate(tags):
        tag = normal_tag(raw)
        if not 0 < len(tag) <= MAX_TAG or TAG.fullmatch(tag) is None:
            message = f"a tag is 1 to {MAX_TAG} letters, digits or _ : . - (starting with a letter or digit)"
            problems.append(Problem("INVALID_TAG", message, (*path, str(index))))
        elif tag not in kept:
            kept.append(tag)
    if not tags:
        problems.append(Problem("REQUIRED", "name at least one tag", path))
    if problems:
        raise ValidationFailed(problems)
    return kept


def check_note(body: str, path: tuple[str, ...] = ("body",)) -> str:
    text = body.strip()
    if not 0 < len(text) <= MAX_NOTE:
        raise ValidationFailed([Problem("INVALID_NOTE", f"a note is 1 to {MAX_NOTE} characters", path)])
    return text

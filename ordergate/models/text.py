"""What text the store can keep, on every backend.

PostgreSQL refuses a NUL character and any value longer than its `VARCHAR(n)`, and no UTF-8
encoder takes an unpaired surrogate (JSON can carry one as `\\ud800`); SQLite keeps all of
these. So text from outside is held to one rule before it is written or compared: no C0
control character except tab, line feed and carriage return, no unpaired surrogate, and no
more characters than the column it is kept in holds. Ids are text of at most `ID_LENGTH`
characters by the same rule; any other id cannot name a record.
"""

from __future__ import annotations

import re
from typing import Any

from ordergate.models.errors import Problem

UNSTORABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff]")
ID_LENGTH = 36  # every record's id column: a UUID's text


def is_storable(value: str) -> bool:
    return UNSTORABLE.search(value) is None


def check_text(value: str, field: tuple[str, ...], maximum: int) -> list[Problem]:
    """Problems with a client's `value` for a column of `maximum` characters: INVALID_CHARACTERS,
    TOO_LONG. `field` is the input path; its last name (not an index) names it in messages."""
    name = next((part for part in reversed(field) if not part.isdigit()), "value")
    problems: list[Problem] = []
    if not is_storable(value):
        problems.append(
            Problem(
                "INVALID_CHARACTERS",
                f"{name} may not contain control characters (other than tab and line breaks) "
                "or unpaired surrogates",
                field,
            )
        )
    if len(value) > maximum:
        problems.append(Problem("TOO_LONG", f"{name} may be at most {maximum} characters", field))
    return problems


def is_id(value: str) -> bool:
    """Whether `value` could be a record's id; one that cannot is simply not found."""
    return 0 < len(value) <= ID_LENGTH and is_storable(value)


def scrub(value: Any) -> Any:
    """`value` (decoded JSON from an upstream) with unstorable characters removed from every
    string in it: upstream text is kept as well as it can be, not refused for a stray byte."""
    if isinstance(value, str):
        return UNSTORABLE.sub("", value) if UNSTORABLE.search(value) else value
    if isinstance(value, list):
        return [scrub(item) for item in value]
    if isinstance(value, dict):
        return {key: scrub(item) for key, item in value.items()}
    return value

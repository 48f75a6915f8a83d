"""What upstreams send, decoded at the border.

Every string in a decoded body loses the characters no store can keep (`models.text.scrub`:
NUL and the other C0 controls but tab and line breaks, unpaired surrogates), which JSON can
carry as `\\u0000` escapes. A storefront customer's name or a carrier's scan description with a
stray control byte is then kept without it, instead of failing the insert on PostgreSQL (and
only there) long after the request that brought it was answered.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from ordergate import untrusted
from ordergate.models.text import scrub


def load_json(body: bytes | str, *, parse_float: Callable[[str], Decimal] | None = None) -> Any:
    """`untrusted.load_json` (nesting bounded), then `scrub`; raises ValueError
    (`MalformedJson`) for a body that is not JSON."""
    return scrub(untrusted.load_json(body, parse_float=parse_float))

"""What upstreams send, decoded at the border.

Every string in a decoded body loses the characters no store can keep (`models.text.scrub`:
NUL and the other C0 controls but tab and line breaks, unpaired surrogates), which JSON can
carry as `\\u0000` escapes. A storefront customer's name or a carrier's scan description with a
stray control byte is then kept without it, instead of failing the insert on PostgreSQL (and
only there) long after the request that brought it was answered.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from ordergate import untrusted
from ordergate.models.text import UNSTORABLE, scrub

# What in a body's bytes could decode to an unstorable character: an escape (`\u0000`, `\b`,
# `\f`, `\ud800`), a raw C0 control, or the UTF-8 form of a surrogate (`\xed\xa0`-`\xed\xbf`,
# which `json.loads` lets through, decoding bytes with `surrogatepass`). A body with none of these
# decodes to strings with nothing to scrub, which is almost every body an upstream sends; the
# scrub's walk costs about as much as parsing.
_C0_CONTROL = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def _may_hold_unstorable(body: bytes | str) -> bool:
    if isinstance(body, str):
        return "\\" in body or UNSTORABLE.search(body) is not None
    return b"\\" in body or b"\xed" in body or _C0_CONTROL.search(body) is not None


def load_json(body: bytes | str, *, parse_float: Callable[[str], Decimal] | None = None) -> Any:
    """`untrusted.load_json` (nesting bounded), then `scrub` unless the body cannot hold anything
    to scrub; raises ValueError (`MalformedJson`) for a body that is not JSON."""
    value = untrusted.load_json(body, parse_float=parse_float)
    return scrub(value) if _may_hold_unstorable(body) else value

"""An email's bytes as they go over SMTP, written directly: the message `email`'s
`EmailMessage` would make (text, with the HTML as its alternative), without its header
registry, and without its one fault for us (below).

Building an `EmailMessage` and flattening it took ~3.5 ms of CPU per message on a machine where
placeOrder takes ~26 ms (0.05 ms this way): every header assigned is parsed into an object, and
parsed again to be folded on the way out. Most of what we send is short ASCII headers and
bodies, which need neither. So:

- a header that is ASCII, one line and short (RFC 5322's 78 characters) is written as it is,
  and so is an identifier or a URL of any length up to 998 (`WHOLE`); any other goes through
  the standard library's own folding (`email.policy.SMTP`: RFC 2047 encoded words, folded
  lines), so free text that needs care gets the library's care;
- a body that is ASCII with lines of at most 78 characters is sent 7bit; any other is
  quoted-printable (`binascii.b2a_qp`, which the library's own choice between quoted-printable
  and base64 also gives for mostly-Latin text), so the message needs no 8BITMIME;
- a message to or from an address that is not ASCII (`needs_utf8`) is sent with SMTPUTF8 and
  its headers in UTF-8 as they are (RFC 6532), unfolded up to 998 characters: the library's
  UTF-8 folding drops the quotes of a display name it refolds (`"Shop: Paris"` became a group).

The library's fault: it folds a long URL by turning it into encoded words
(`=?utf-8?q?=3Chttps=3A//...?=`), which List-Unsubscribe (RFC 2369) does not allow. An opt-out
URL is ~100 characters, so every non-essential email went out with its one-click unsubscribe
encoded, where a mailbox provider looks for `<https://...>`.

`tests/test_mail_wire.py` holds this to the library: whatever the text, read back by the
library, the two messages carry the same headers and the same parts.
"""

from __future__ import annotations

import binascii
import secrets
from email.policy import SMTP
from email.utils import formataddr, formatdate

from ordergate.models.emails import Email

MAX_HEADER_LINE = 78  # RFC 5322 2.1.1: a line SHOULD be at most 78 characters, CRLF excluded
MAX_LINE = 998  # and MUST be at most 998
MAX_7BIT_LINE = 78  # what the library's content manager sends 7bit, too
# Written whole however long (to RFC 5322's hard limit), never folded or encoded: identifiers
# and URLs have no whitespace to fold at.
WHOLE = frozenset(
    {"Message-ID", "List-Unsubscribe", "List-Unsubscribe-Post", "Auto-Submitted", "X-Ordergate-Email"}
)


def needs_utf8(message: Email) -> bool:
    """An address of the message is not ASCII: it is sent with SMTPUTF8 (RFC 6531)."""
    return not (message.to + message.sender.from_address + message.sender.reply_to).isascii()


def headers(message: Email, date: str | None = None) -> list[tuple[str, str]]:
    """The message's own headers, in order (the MIME ones follow them)."""
    named = [
        ("From", _mailbox(message.sender.name, message.sender.from_address)),
        ("To", message.to),
        ("Reply-To", message.sender.reply_to),
        ("Subject", message.subject),
        ("Message-ID", message.message_id),
        ("Date", date or formatdate(usegmt=True)),
        ("Auto-Submitted", "auto-generated"),  # RFC 3834: no vacation replies to it
        ("X-Ordergate-Email", message.kind.value),
    ]
    if message.opt_out_url:
        named.append(("List-Unsubscribe", f"<{message.opt_out_url}>"))
        named.append(("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"))
    return named


def _mailbox(name: str, address: str) -> str:
    """`Name <address>`: the library's, whose name is RFC 2047-encoded when it is not ASCII; an
    address that is not ASCII (which the library refuses) goes with SMTPUTF8, so its name is
    written in UTF-8, quoted (RFC 5322 3.2.4, RFC 6532)."""
    if address.isascii():
        return formataddr((name, address))
    if not name:
        return address
    quoted = name.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{quoted}" <{address}>'


def wire(message: Email, *, date: str | None = None) -> bytes:
    """The whole message, CRLF line endings; every byte 7-bit unless `needs_utf8`."""
    utf8 = needs_utf8(message)
    parts = [_part("plain", message.text), _part("html", message.html)]
    boundary = _boundary(parts)
    out = [_header(name, value, utf8) for name, value in headers(message, date)]
    out.append(b"MIME-Version: 1.0\r\n")
    out.append(f'Content-Type: multipart/alternative;\r\n boundary="{boundary}"\r\n\r\n'.encode("ascii"))
    # A part's last CRLF belongs to the delimiter after it (RFC 2046 5.1.1), so each delimiter
    # brings its own and the part keeps all of its line ends.
    out.append(f"--{boundary}\r\n".encode("ascii"))
    out.append(f"\r\n--{boundary}\r\n".encode("ascii").join(parts))
    out.append(f"\r\n--{boundary}--\r\n".encode("ascii"))
    return b"".join(out)


def _header(name: str, value: str, utf8: bool) -> bytes:
    if "\r" in value or "\n" in value:  # as the library refuses them: no header of its own
        raise ValueError(f"the {name} header may not contain a line break")
    line = f"{name}: {value}\r\n".encode()
    if (utf8 or line.isascii()) and len(line) - 2 <= (MAX_LINE if utf8 or name in WHOLE else MAX_HEADER_LINE):
        return line
    folded: str = SMTP.header_factory(name, value).fold(policy=SMTP)
    return folded.encode()


def _part(subtype: str, text: str) -> bytes:
    """One text part: its headers, a blank line, its body (ending in CRLF)."""
    lines = text.encode("utf-8").splitlines()  # as the library splits: CR, LF or CRLF
    body = b"\r\n".join(lines) + b"\r\n"
    if body.isascii() and all(len(line) <= MAX_7BIT_LINE for line in lines):
        encoding = "7bit"
    else:
        encoding, body = "quoted-printable", binascii.b2a_qp(body, istext=True)
    head = f'Content-Type: text/{subtype}; charset="utf-8"\r\nContent-Transfer-Encoding: {encoding}\r\n\r\n'
    return head.encode("ascii") + body


def _boundary(parts: list[bytes]) -> str:
    """A boundary none of the parts contains (as the library checks, too)."""
    while True:
        boundary = f"==============={secrets.token_hex(10)}=="
        if not any(boundary.encode("ascii") in part for part in parts):
            return boundary

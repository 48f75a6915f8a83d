"""The email's bytes as the SMTP mailer writes them (`connectors.mail.wire`) against the
standard library's `EmailMessage` of the same email, which the mailer used to send: read back
by the library, both carry the same headers and the same parts, whatever the text. A long
opt-out URL goes out as a URL (the library encoded it), and both kinds of address reach a real
SMTP server (the sandbox's)."""

from __future__ import annotations

import email
import email.policy
import re
from email.message import EmailMessage
from email.policy import SMTP

import pytest
from aiosmtplib.email import flatten_message
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ordergate.connectors.mail.smtp import SmtpMailer
from ordergate.connectors.mail.wire import headers, needs_utf8, wire
from ordergate.models.emails import Email, EmailKind, Sender
from ordergate.sandbox.mail import MailSink

MIME = frozenset({"MIME-Version", "Content-Type"})
DATE = "Mon, 07 Dec 2026 12:00:00 -0000"
SENDER = Sender(
    name="Ordergate Shop",
    from_address="orders@shop.example",
    reply_to="help@shop.example",
    postal_address="1 Main St",
)
# Text as templates and customers make it: any character, long lines, CR, LF and CRLF mixed,
# lines that start with a dot or "From ", runs of "=" and spaces at the ends of lines.
PIECES = st.one_of(
    st.text(st.characters(codec="utf-8"), max_size=8),
    st.sampled_from(["\r\n", "\n", "\r", ".", "From ", "=", " ", "\t", "=?utf-8?q?x?="]),
)
TEXT = st.lists(PIECES, max_size=60).map("".join) | st.builds(
    lambda word, times: word * times, st.sampled_from(["a", "é ", "=", "x y "]), st.integers(70, 400)
)
# A subject or a shop's name: any letter, mark, digit, symbol or punctuation (quotes, colons,
# commas, angle brackets), and spaces. Not the other Unicode spaces: the library's own reader
# folds a no-break space beside a space into one, so it could not tell what was meant.
LINE = st.text(
    st.characters(codec="utf-8", exclude_categories=["Cc", "Zs", "Zl", "Zp"]) | st.just(" "), max_size=120
)


def an_email(**changes: object) -> Email:
    fields: dict[str, object] = {
        "to": "ann@example.com",
        "subject": "Your order OG-100004 is confirmed",
        "text": "Hello Ann,\n\nThank you for your order.\n",
        "html": "<p>Hello Ann,</p><p>Thank you for your order.</p>",
        "message_id": "<ev1.order_confirmed@shop.example>",
        "sender": SENDER,
        "kind": EmailKind.ORDER_CONFIRMED,
        "opt_out_url": "https://shop.example/email/opt-out?t=abc",
    }
    fields.update(changes)
    return Email(**fields)  # type: ignore[arg-type]


def read(raw: bytes) -> EmailMessage:
    """As a reader that knows RFC 6532 reads it: headers in UTF-8 are text, not bytes."""
    message = email.message_from_string(raw.decode(), policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


def library(message: Email) -> bytes:
    """The message as the mailer sent it before: an `EmailMessage`, flattened by aiosmtplib."""
    built = EmailMessage()
    for name, value in headers(message, DATE):
        built[name] = value
    built.set_content(message.text)
    built.add_alternative(message.html, subtype="html")
    return flatten_message(built, utf8=needs_utf8(message), cte_type="7bit")


def reading(value: object) -> object:
    """What a reader takes a header for: its addresses (name and address each), or its text."""
    addresses = getattr(value, "addresses", None)
    if addresses is not None:
        return [(address.display_name, address.addr_spec) for address in addresses]
    return str(value)


def meant(message: Email) -> list[tuple[str, object]]:
    """The headers as the library reads the values we give it."""
    return [(name, reading(SMTP.header_factory(name, value))) for name, value in headers(message, DATE)]


def seen(message: EmailMessage) -> tuple[list[tuple[str, object]], list[tuple[str, str]]]:
    """What a reader sees: the message's own headers, and each part's type and text (line ends
    as the reader's)."""
    named = [(name, reading(value)) for name, value in message.items() if name not in MIME]
    parts = [(part.get_content_type(), part.get_content().splitlines()) for part in message.iter_parts()]
    return named, [(kind, "\n".join(lines)) for kind, lines in parts]


def check(message: Email) -> bytes:
    """The message written, read back: its parts as the library's, and its headers as the
    library's too, or, with SMTPUTF8, as meant (the library's UTF-8 folding loses the quotes of
    a display name it refolds, so it is no yardstick there)."""
    raw = wire(message, date=DATE)
    named, parts = seen(read(raw))
    theirs = seen(read(library(message)))
    assert named == (meant(message) if needs_utf8(message) else theirs[0])
    assert parts == theirs[1]
    assert dict(named)["From"] == [(message.sender.name, message.sender.from_address)]
    assert dict(named)["To"] == [("", message.to)]
    return raw


def test_a_plain_emails_headers_are_written_as_they_are_and_read_back_as_meant() -> None:
    message = an_email()
    raw = check(message)
    assert seen(read(raw))[0] == meant(message)
    assert b"\r\nSubject: Your order OG-100004 is confirmed\r\n" in raw
    assert b"Content-Transfer-Encoding: 7bit" in raw
    assert read(raw).get_content_type() == "multipart/alternative"


@given(
    subject=LINE,
    name=LINE,
    text=TEXT,
    html=TEXT,
    opt_out=st.booleans(),
    to=st.sampled_from(["ann@example.com", "zoé@exämple.fr"]),
    sent_from=st.sampled_from([SENDER.from_address, "commandes@exämple.fr"]),
)
@settings(max_examples=200, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
def test_whatever_the_text_a_reader_sees_the_headers_meant_and_the_librarys_parts(
    subject: str, name: str, text: str, html: str, opt_out: bool, to: str, sent_from: str
) -> None:
    message = an_email(
        to=to,
        subject=subject,
        text=text,
        html=html,
        sender=Sender(name=name, from_address=sent_from, reply_to=SENDER.reply_to, postal_address=""),
        opt_out_url="https://shop.example/o?t=x" if opt_out else None,
    )
    raw = check(message)
    assert raw.isascii() or needs_utf8(message), "every byte 7-bit: no 8BITMIME needed"
    lines = raw.split(b"\r\n")
    assert lines[-1] == b"", "the message ends with CRLF"
    assert not any(b"\r" in line or b"\n" in line for line in lines), "no bare CR or LF"
    assert max(len(line) for line in lines) <= 998, "RFC 5322's limit on a line"


@pytest.mark.parametrize("to", ["ann@example.com", "zoé@exämple.fr"])
def test_a_long_opt_out_url_goes_out_as_a_url_not_as_encoded_words(to: str) -> None:
    url = (
        "https://shop.example.com/email/opt-out/0193a6b2-7c1e-7f00-8a3b-1234567890ab?t=2bZJqk8vQ3mYb1nWc0xR5A"
    )
    message = an_email(to=to, opt_out_url=url)
    raw = check(message)
    assert f"\r\nList-Unsubscribe: <{url}>\r\n".encode() in raw


def test_the_library_would_have_encoded_it() -> None:
    """Why `WHOLE` exists: what the mailer sent before this writer."""
    url = (
        "https://shop.example.com/email/opt-out/0193a6b2-7c1e-7f00-8a3b-1234567890ab?t=2bZJqk8vQ3mYb1nWc0xR5A"
    )
    assert b"List-Unsubscribe: =?utf-8?q?" in library(an_email(opt_out_url=url))


def test_a_header_value_with_a_line_break_is_refused_not_written() -> None:
    with pytest.raises(ValueError, match="line break"):
        wire(an_email(subject="Hello\r\nBcc: someone@example.com"))


def test_an_address_that_is_not_ascii_needs_smtputf8() -> None:
    assert not needs_utf8(an_email())
    assert needs_utf8(an_email(to="josé@example.com"))
    assert needs_utf8(
        an_email(
            sender=Sender(
                name="x", from_address="commandes@exemple.fr", reply_to="aidé@exemple.fr", postal_address=""
            )
        )
    )
    raw = wire(an_email(to="josé@example.com", subject="Votre commande est confirmée"), date=DATE)
    assert "\r\nTo: josé@example.com\r\nReply-To".encode() in raw
    assert "\r\nSubject: Votre commande est confirmée\r\n".encode() in raw, "RFC 6532: UTF-8 as it is"


@pytest.mark.parametrize(
    ("to", "sent_from"),
    [
        ("ann@example.com", SENDER.from_address),
        ("josé@exämple.com", SENDER.from_address),
        ("ann@example.com", "commandes@boutique-zoé.fr"),
    ],
)
async def test_ascii_and_utf8_addresses_reach_a_real_smtp_server_as_sent(to: str, sent_from: str) -> None:
    sink = MailSink()
    await sink.start()
    mailer = SmtpMailer(lambda: f"smtp://127.0.0.1:{sink.port}", timeout=5)
    try:
        text = "Bonjour Zoé,\n.\n.. a line that starts with a dot (SMTP doubles it, the server undoes it)\n"
        sender = Sender(
            name="Boutique Zoé", from_address=sent_from, reply_to=SENDER.reply_to, postal_address=""
        )
        message = an_email(to=to, subject="Votre commande OG-100004 est confirmée", text=text, sender=sender)
        await mailer.send(message)
    finally:
        await mailer.aclose()
        await sink.aclose()
    [received] = sink.received
    assert received.rcpt_tos == (to,)
    assert received.mail_from == sent_from
    assert received.header("From") == f"Boutique Zoé <{sent_from}>"
    assert received.subject == "Votre commande OG-100004 est confirmée"
    assert received.text.splitlines() == text.splitlines()
    assert received.header("Message-ID") == "<ev1.order_confirmed@shop.example>"
    assert re.search(r"<p>Hello Ann,</p>", received.html)

"""Email over SMTP with aiosmtplib: `smtp://user:password@host:587` (STARTTLS whenever the
server offers it) or `smtps://user:password@host:465` (TLS from the first byte).

Each message is one connection: transactional email is a trickle, and a connection kept open
between messages is one a server would drop anyway. The message carries its own `Message-ID`
(derived from the event it tells of), so a send retried after an unclear ending is the same
message to whoever received the first.
"""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import formataddr, formatdate
from urllib.parse import unquote, urlsplit

import aiosmtplib

from ordergate.connectors.errors import UpstreamUnavailable
from ordergate.connectors.mail.base import UPSTREAM, MailRejected
from ordergate.models.emails import Email

TIMEOUT_SECONDS = 30.0
PORTS = {"smtp": 25, "smtps": 465}
SERVER_WIDE = (
    aiosmtplib.SMTPAuthenticationError,
    aiosmtplib.SMTPConnectResponseError,
    aiosmtplib.SMTPHeloError,
)


def mime(message: Email) -> EmailMessage:
    """The message in its wire form: text, with the HTML as its alternative."""
    mail = EmailMessage()
    mail["From"] = formataddr((message.sender.name, message.sender.from_address))
    mail["To"] = message.to
    mail["Reply-To"] = message.sender.reply_to
    mail["Subject"] = message.subject
    mail["Message-ID"] = message.message_id
    mail["Date"] = formatdate(usegmt=True)
    mail["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies to it
    mail["X-Ordergate-Email"] = message.kind.value
    mail.set_content(message.text)
    mail.add_alternative(message.html, subtype="html")
    return mail


class SmtpMailer:
    def __init__(self, url: str, *, timeout: float = TIMEOUT_SECONDS) -> None:
        parts = urlsplit(url)
        if parts.scheme not in PORTS or not parts.hostname:
            raise ValueError("an SMTP URL is smtp://[user:password@]host[:port] or smtps://...")
        self.hostname = parts.hostname
        self.port = parts.port or PORTS[parts.scheme]
        self.use_tls = parts.scheme == "smtps"
        self.username = unquote(parts.username) if parts.username else None
        self.password = unquote(parts.password) if parts.password else None
        self.timeout = timeout

    async def send(self, message: Email) -> None:
        try:
            await aiosmtplib.send(
                mime(message),
                hostname=self.hostname,
                port=self.port,
                username=self.username,
                password=self.password,
                use_tls=self.use_tls,
                start_tls=None if not self.use_tls else False,  # None: STARTTLS when offered
                timeout=self.timeout,
            )
        except aiosmtplib.SMTPRecipientsRefused as error:
            codes = [refused.code for refused in error.recipients]
            if codes and all(code >= 500 for code in codes):
                raise MailRejected(f"recipient refused ({codes[0]})", codes[0]) from None
            deferred = codes[0] if codes else "?"
            raise UpstreamUnavailable(UPSTREAM, f"recipient deferred ({deferred})") from None
        except aiosmtplib.SMTPResponseException as error:
            # A refused login or greeting is the server's setup, not this message: it waits.
            if error.code >= 500 and not isinstance(error, SERVER_WIDE):
                raise MailRejected(f"refused: {error.code} {error.message}"[:200], error.code) from None
            raise UpstreamUnavailable(UPSTREAM, f"{error.code} {error.message}"[:200]) from None
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as error:
            raise UpstreamUnavailable(UPSTREAM, f"{type(error).__name__}: {error}"[:200]) from None

    async def aclose(self) -> None:
        return None

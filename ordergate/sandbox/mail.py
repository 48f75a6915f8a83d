"""A mail server for the sandbox: real SMTP (aiosmtpd) on 127.0.0.1, in the gateway's own
event loop, keeping the last messages it received, and a page to read them at /sandbox/mail.

The gateway's SMTP mailer sends to it as it would to any server, so the sandbox exercises the
same path as production. It listens from `start` (on a port the system picks; the mailer asks
the sink for its URL at each send) until `aclose`.

Below its mount: `GET /` lists the messages, newest first; `GET /<n>` shows one (headers, its
text, its links, its HTML in a sandboxed frame); `GET /<n>/html` is the HTML part alone, under
a Content-Security-Policy that lets it run nothing and load nothing; `GET /messages.json` is
the list for tools and tests. Every page is autoescaped: what a message says never becomes
markup of ours.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import re
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Any, cast

from aiosmtpd.smtp import SMTP, Envelope, Session
from jinja2 import Environment
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

KEEP = 500
HOSTNAME = "mail.sandbox.internal"
LINK = re.compile(r"https?://[^\s<>\"']+")
HTML_POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
    "sandbox allow-popups allow-popups-to-escape-sandbox"
)
PAGE_POLICY = "default-src 'none'; style-src 'unsafe-inline'; frame-src 'self'"


@dataclass(frozen=True)
class ReceivedMail:
    number: int
    received_at: datetime
    mail_from: str
    rcpt_tos: tuple[str, ...]
    subject: str
    to: str
    headers: tuple[tuple[str, str], ...]
    text: str
    html: str

    @property
    def links(self) -> list[str]:
        return list(dict.fromkeys(LINK.findall(self.text)))

    def header(self, name: str) -> str:
        return next((value for key, value in self.headers if key.lower() == name.lower()), "")

    def summary(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "receivedAt": self.received_at.isoformat(),
            "from": self.mail_from,
            "to": list(self.rcpt_tos),
            "subject": self.subject,
            "messageId": self.header("Message-ID"),
            "headers": [list(pair) for pair in self.headers],
            "text": self.text,
            "html": self.html,
            "links": self.links,
        }


def _kept(mail: ReceivedMail) -> dict[str, Any]:
    return {
        "number": mail.number,
        "received_at": mail.received_at.isoformat(),
        "mail_from": mail.mail_from,
        "rcpt_tos": list(mail.rcpt_tos),
        "subject": mail.subject,
        "to": mail.to,
        "headers": [list(pair) for pair in mail.headers],
        "text": mail.text,
        "html": mail.html,
    }


def _unkept(item: Mapping[str, Any]) -> ReceivedMail:
    return ReceivedMail(
        number=int(item["number"]),
        received_at=datetime.fromisoformat(str(item["received_at"])),
        mail_from=str(item["mail_from"]),
        rcpt_tos=tuple(str(to) for to in item["rcpt_tos"]),
        subject=str(item["subject"]),
        to=str(item["to"]),
        headers=tuple((str(key), str(value)) for key, value in item["headers"]),
        text=str(item["text"]),
        html=str(item["html"]),
    )


def _part(message: EmailMessage, subtype: str) -> str:
    body = message.get_body(preferencelist=(subtype,))
    return str(body.get_content()).replace("\r\n", "\n") if body is not None else ""


@dataclass(frozen=True)
class Unread:
    """A message as it arrived, parsed only when someone reads the sink (most never are)."""

    number: int
    received_at: datetime
    mail_from: str
    rcpt_tos: tuple[str, ...]
    content: bytes


def arrived(number: int, envelope: Envelope, now: datetime) -> Unread:
    content = envelope.content if isinstance(envelope.content, bytes) else str(envelope.content).encode()
    return Unread(number, now, envelope.mail_from or "", tuple(envelope.rcpt_tos), content)


def parse(unread: Unread) -> ReceivedMail:
    try:  # headers in UTF-8 (RFC 6532, sent with SMTPUTF8) are text, not bytes to escape
        message = email.message_from_string(unread.content.decode(), policy=email.policy.default)
    except UnicodeDecodeError:
        message = email.message_from_bytes(unread.content, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return ReceivedMail(
        number=unread.number,
        received_at=unread.received_at,
        mail_from=unread.mail_from,
        rcpt_tos=unread.rcpt_tos,
        subject=str(message.get("Subject", "")).strip(),
        to=str(message.get("To", "")).strip(),
        headers=tuple((key, str(value).strip()) for key, value in message.items()),
        text=_part(message, "plain"),
        html=_part(message, "html"),
    )


class _Handler:
    """The SMTP server's handler: only its hooks, since aiosmtpd reads every attribute of the
    handler it is given on each connection (a sink's `received` would parse what it keeps)."""

    def __init__(self, sink: MailSink) -> None:
        self.sink = sink

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802
        self.sink.keep(envelope)
        return "250 OK: kept"


class MailSink:
    """What the sandbox's SMTP server received, the last `keep` messages."""

    def __init__(self, *, keep: int = KEEP) -> None:
        self._arrived: deque[ReceivedMail | Unread] = deque(maxlen=keep)
        self._count = 0
        self._server: asyncio.Server | None = None
        self.port = 0  # until it serves: nothing listens there, so a send fails and is retried
        self.app = self._app()

    @property
    def received(self) -> deque[ReceivedMail]:
        """The messages kept, oldest first, each parsed the first time it is read."""
        if any(isinstance(mail, Unread) for mail in self._arrived):
            self._arrived = deque(
                (parse(mail) if isinstance(mail, Unread) else mail for mail in self._arrived),
                maxlen=self._arrived.maxlen,
            )
        return cast("deque[ReceivedMail]", self._arrived)

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    async def start(self) -> None:
        if self._server is None:
            loop = asyncio.get_running_loop()
            # SMTPUTF8, as the servers merchants use offer it: an address that is not ASCII
            # (which the order's validation accepts) gets its email here too.
            self._server = await loop.create_server(
                lambda: SMTP(
                    _Handler(self), hostname=HOSTNAME, ident="ordergate sandbox", enable_SMTPUTF8=True
                ),
                "127.0.0.1",
                0,
            )
            self.port = self._server.sockets[0].getsockname()[1]

    async def aclose(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    def keep(self, envelope: Envelope) -> None:
        self._count += 1
        self._arrived.append(arrived(self._count, envelope, datetime.now(UTC)))

    def find(self, number: int) -> ReceivedMail | None:
        return next((mail for mail in self.received if mail.number == number), None)

    def to_state(self) -> dict[str, Any]:
        """What it received and its count (numbers are never reused), for `sandbox.keeper`."""
        return {"count": self._count, "received": [_kept(mail) for mail in self.received]}

    def restore(self, state: Mapping[str, Any]) -> None:
        received = [_unkept(item) for item in state["received"]]  # all read before anything changes
        count = int(state["count"])
        if any(mail.number > count for mail in received):
            raise ValueError("a kept message is numbered past the count")
        self.received.clear()
        self.received.extend(received)
        self._count = count

    def _app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/", self._list),
                Route("/messages.json", self._json),
                Route("/{number:int}", self._show),
                Route("/{number:int}/html", self._html),
            ]
        )

    async def _list(self, request: Request) -> Response:
        mails = list(reversed(self.received))
        return _page(LIST.render(mails=mails, base=_base(request)))

    async def _json(self, request: Request) -> Response:
        return JSONResponse([mail.summary() for mail in reversed(self.received)])

    async def _show(self, request: Request) -> Response:
        mail = self.find(int(request.path_params["number"]))
        if mail is None:
            return _page(MISSING.render(), status_code=404)
        return _page(SHOW.render(mail=mail, base=_base(request)))

    async def _html(self, request: Request) -> Response:
        mail = self.find(int(request.path_params["number"]))
        if mail is None:
            return Response("no such message", status_code=404, media_type="text/plain")
        return HTMLResponse(
            mail.html,
            headers={"Content-Security-Policy": HTML_POLICY, "X-Content-Type-Options": "nosniff"},
        )


def _base(request: Request) -> str:
    """Where this app is mounted (/sandbox/mail), for links that work with or without a slash."""
    return str(request.scope.get("root_path", "")).rstrip("/")


def _page(body: str, status_code: int = 200) -> Response:
    return HTMLResponse(
        body,
        status_code=status_code,
        headers={
            "Content-Security-Policy": PAGE_POLICY,
            "X-Content-Type-Options": "nosniff",
            "X-Frame-Options": "DENY",
        },
    )


_JINJA = Environment(autoescape=True)
_STYLE = (
    "<style>body{font:15px/1.4 system-ui,sans-serif;margin:2em;max-width:60em}"
    "td,th{padding:.3em .8em;text-align:left;vertical-align:top}pre{white-space:pre-wrap;"
    "background:#f6f6f6;padding:1em}iframe{width:100%;height:40em;border:1px solid #ccc}</style>"
)
LIST = _JINJA.from_string(
    "<!doctype html><html><head><meta charset=utf-8><title>Sandbox mail</title>" + _STYLE + "</head><body>"
    "<h1>Sandbox mail</h1><p>{{ mails|length }} message(s) received by the sandbox's SMTP server, "
    "newest first.</p><table><tr><th>Received</th><th>To</th><th>Subject</th></tr>"
    "{% for mail in mails %}<tr><td>{{ mail.received_at.strftime('%Y-%m-%d %H:%M:%S') }} UTC</td>"
    "<td>{{ mail.rcpt_tos|join(', ') }}</td>"
    '<td><a href="{{ base }}/{{ mail.number }}">{{ mail.subject or "(no subject)" }}</a></td></tr>'
    "{% endfor %}"
    "</table></body></html>"
)
SHOW = _JINJA.from_string(
    "<!doctype html><html><head><meta charset=utf-8><title>{{ mail.subject }}</title>" + _STYLE + "</head>"
    '<body><p><a href="{{ base }}/">All messages</a></p><h1>{{ mail.subject }}</h1><table>'
    "{% for key, value in mail.headers %}<tr><th>{{ key }}</th><td>{{ value }}</td></tr>{% endfor %}"
    "</table>{% if mail.links %}<h2>Links</h2><ul>{% for link in mail.links %}"
    '<li><a href="{{ link }}" target="_blank" rel="noopener noreferrer">{{ link }}</a></li>'
    "{% endfor %}</ul>{% endif %}"
    "{% if mail.html %}<h2>HTML</h2>"
    '<iframe sandbox="allow-popups allow-popups-to-escape-sandbox" src="{{ base }}/{{ mail.number }}/html" '
    'title="the HTML part"></iframe>{% endif %}'
    "<h2>Text</h2><pre>{{ mail.text }}</pre></body></html>"
)
MISSING = _JINJA.from_string("<!doctype html><p>No such message (the sandbox keeps the last 500).</p>")

"""Parsers for settings read from the environment: text in, a typed value out, or ValueError
with what was wrong (the caller names the variable)."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from pathlib import Path

from email_validator import EmailNotValidError, validate_email

TRUE = frozenset({"1", "true", "yes", "on"})
FALSE = frozenset({"0", "false", "no", "off"})


def text(raw: str) -> str:
    return raw


def lowered(raw: str) -> str:
    return raw.strip().lower()


def flag(raw: str) -> bool:
    value = raw.strip().lower()
    if value in TRUE:
        return True
    if value in FALSE:
        return False
    raise ValueError(f"must be on or off (1/0, true/false, yes/no), not {raw!r}")


def integer(raw: str) -> int:
    try:
        return int(raw.strip())
    except ValueError:
        raise ValueError(f"must be an integer, not {raw!r}") from None


def seconds(raw: str) -> float:
    return float(integer(raw))


def amount(raw: str) -> Decimal:
    """A decimal number of at least zero."""
    try:
        value = Decimal(raw.strip())
    except InvalidOperation:
        raise ValueError(f"must be a decimal number, not {raw!r}") from None
    if not value.is_finite() or value < 0:
        raise ValueError(f"must be a number of at least zero, not {raw!r}")
    return value


def limit(raw: str) -> Decimal | None:
    """An amount, or no limit at all (`unlimited`)."""
    return None if raw.strip().lower() == "unlimited" else amount(raw)


def mailbox(raw: str) -> str:
    """An email address alone (no display name: the name has its own setting), normalised."""
    try:
        return validate_email(raw.strip(), check_deliverability=False).normalized
    except EmailNotValidError as error:
        raise ValueError(
            f"must be an email address such as orders@example.com, not {raw!r}: {error}"
        ) from None


def url(raw: str) -> str:
    """A URL root, without its trailing slash."""
    return raw.strip().rstrip("/")


def directory_or_off(raw: str) -> str:
    """A directory, or `off` (any of the flag's off words)."""
    value = raw.strip()
    return "off" if value.lower() in FALSE else value


def listed(raw: str) -> tuple[str, ...]:
    """Comma-separated values, blanks dropped."""
    return tuple(part.strip() for part in raw.split(",") if part.strip())


def listed_lowered(raw: str) -> tuple[str, ...]:
    return tuple(part.lower() for part in listed(raw))


def log_format(raw: str) -> str:
    """`text`, `json`, or `auto` (text where the log goes to a terminal); anything else is `json`."""
    value = raw.strip().lower()
    return value if value in ("text", "auto") else "json"


def database_url(raw: str) -> str:
    """A SQLAlchemy URL; the `postgres://` of hosting platforms means asyncpg."""
    if raw.startswith(("postgres://", "postgresql://")):
        return "postgresql+asyncpg://" + raw.split("://", 1)[1]
    return raw


def pem_or_path(raw: str) -> str:
    """PEM text as given, or the text of the file it names."""
    if raw.lstrip().startswith("-----BEGIN"):
        return raw
    try:
        return Path(raw).read_text()
    except OSError as error:
        raise ValueError(f"is neither PEM text nor a readable file ({error.strerror})") from None


def per_channel(raw: str) -> tuple[tuple[str, int], ...]:
    """`channel=count` pairs, comma-separated, each count at least 1 (`web=3,marketplace=1`)."""
    found: dict[str, int] = {}
    for part in listed(raw):
        channel, equals, count = part.partition("=")
        if not equals or not channel.strip():
            raise ValueError(f"must be channel=count pairs, not {part!r}")
        value = integer(count)
        if value < 1:
            raise ValueError(f"a count must be at least 1, not {part!r}")
        found[channel.strip()] = value
    return tuple(sorted(found.items()))


def at_least_one(raw: str) -> int:
    value = integer(raw)
    if value < 1:
        raise ValueError(f"must be at least 1, not {raw!r}")
    return value

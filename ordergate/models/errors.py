"""Domain errors. Each carries a stable `code` that reaches clients unchanged.

DomainError
 ├── ValidationFailed          (INVALID_INPUT and friends, with a field path)
 ├── NotFound                  (NOT_FOUND: absent, or not visible to the caller)
 ├── Forbidden                 (FORBIDDEN: the role may not do this)
 ├── Unauthenticated           (UNAUTHENTICATED: no or bad credentials)
 ├── InvalidTransition         (INVALID_TRANSITION: a state machine said no)
 ├── IdempotencyKeyReused      (IDEMPOTENCY_KEY_REUSED: same key, other input)
 ├── IdempotencyKeyInUse       (IDEMPOTENCY_KEY_IN_USE: the key's first request is still at work)
 └── ResumeRequired            (RESUME_REQUIRED: a subscriber fell behind; resume from a cursor)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a request, addressed to the field of the command that caused it.

    `field` is a path in the domain's own spelling, relative to the command (or to the use
    case's own arguments): the Python names of its fields and list indices as text, e.g.
    `("lines", "2", "sku")`, `("shipping_address", "postal_code")`, `("order_id",)`; `()` is
    the command as a whole, None no field at all. The GraphQL layer turns it into the path the
    client sent (`schema.types.common.input_path`: under `input`, in camelCase)."""

    code: str
    message: str
    field: tuple[str, ...] | None = None


class DomainError(Exception):
    code = "DOMAIN_ERROR"

    def __init__(self, message: str, *, field: Sequence[str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = tuple(field) if field is not None else None
        self.extensions: dict[str, object] = {}

    @property
    def problems(self) -> list[Problem]:
        return [Problem(self.code, self.message, self.field)]


class ValidationFailed(DomainError):
    code = "INVALID_INPUT"

    def __init__(self, problems: Sequence[Problem]) -> None:
        super().__init__("; ".join(p.message for p in problems))
        self._problems = list(problems)

    @property
    def problems(self) -> list[Problem]:
        return list(self._problems)


class NotFound(DomainError):
    code = "NOT_FOUND"


class Forbidden(DomainError):
    code = "FORBIDDEN"


class Unauthenticated(DomainError):
    code = "UNAUTHENTICATED"


class InvalidTransition(DomainError):
    code = "INVALID_TRANSITION"


class VersionConflict(DomainError):
    """The order changed since the caller read it: read it again, then retry."""

    code = "VERSION_CONFLICT"


class IdempotencyKeyReused(DomainError):
    code = "IDEMPOTENCY_KEY_REUSED"


class IdempotencyKeyInUse(DomainError):
    """The same request under the same key is still being worked on: nothing was done for this
    one, and sending it again shortly gets the first one's result."""

    code = "IDEMPOTENCY_KEY_IN_USE"


class UpstreamFailed(DomainError):
    """An upstream gave no usable answer; what does not depend on it still does."""

    code = "UPSTREAM_UNAVAILABLE"

    def __init__(self, upstream: str, message: str, *, field: Sequence[str] | None = None) -> None:
        super().__init__(f"{upstream}: {message}", field=field)
        self.extensions = {"upstream": upstream}


class StoreBusy(DomainError):
    """Every database connection is in use (or the database cannot be reached) for longer than
    a request should wait: nothing was changed, and the same request can be sent again."""

    code = "STORE_BUSY"

    def __init__(self, message: str, *, retry_after_seconds: int = 1) -> None:
        super().__init__(message)
        self.extensions = {"retryAfter": retry_after_seconds}


class ResumeRequired(DomainError):
    """A subscriber read slower than events arrived; its stream ends, and it resumes with
    `after` set to the last cursor it received (`extensions.resumeAfter`)."""

    code = "RESUME_REQUIRED"

    def __init__(self, resume_after: str | None) -> None:
        super().__init__(
            "this subscription fell too far behind; subscribe again with after = extensions.resumeAfter",
            field=("after",),
        )
        self.extensions = {"resumeAfter": resume_after}

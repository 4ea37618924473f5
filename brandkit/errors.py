"""The exception tree: every error a user can see is a :class:`BrandkitError`.

Code below the CLI raises these with structured fields; only ``brandkit.cli`` turns them into
one printed line and an exit code. Wrap lower-level failures with ``raise … from exc`` so the
cause survives for ``BRANDKIT_DEBUG=1``.

::

    BrandkitError                    exit code 1 unless noted
    ├── ConfigError                  brandkit.toml or a BRANDKIT_* variable is wrong      (78)
    ├── DatabaseError                the database cannot be opened or used               (70)
    │   └── SchemaError              the schema is newer than this brandkit, or broken
    ├── SecretError                  the secret key is missing or does not decrypt       (78)
    ├── NotFoundError                a named thing (account, post, template…) is unknown (66)
    ├── InvalidInputError            a value given by the user is malformed              (65)
    ├── TemplateError                a post template cannot be loaded or rendered        (65)
    │   └── RulePackError            a compliance or privacy rule pack is malformed
    ├── StateError                   a transition the state machine forbids              (69)
    │   └── ConcurrentUpdateError    another process changed the row first
    ├── UnknownPlatformError         no connector is registered under that name          (66)
    └── PlatformError                a platform answered with an error (status, body)
        ├── AuthExpiredError         credentials rejected: re-authorise the account
        ├── RejectedError            the platform refused this content (e.g. 422)
        └── TransientError           worth retrying later
            ├── RateLimitedError     429 / quota, with ``reset_at``
            └── OutcomeUnknownError  the request may have been applied: reconcile, never retry
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path


class BrandkitError(Exception):
    """Base of every user-facing error. ``hint`` says what to do about it."""

    exit_code: int = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        if self.hint:
            return f"{self.message} — {self.hint}"
        return self.message


class ConfigError(BrandkitError):
    """``brandkit.toml`` or a ``BRANDKIT_*`` variable is malformed or has an unknown key."""

    exit_code = 78  # EX_CONFIG


class DatabaseError(BrandkitError):
    """The database cannot be reached, opened or written."""

    exit_code = 70  # EX_SOFTWARE


class SchemaError(DatabaseError):
    """The database schema is newer than this version of brandkit, or cannot be upgraded."""


class SecretError(BrandkitError):
    """The secret key is missing, unreadable, or does not decrypt stored credentials."""

    exit_code = 78


class NotFoundError(BrandkitError):
    """A thing named by the user does not exist."""

    exit_code = 66  # EX_NOINPUT

    def __init__(self, kind: str, name: object, *, hint: str | None = None) -> None:
        super().__init__(f"No {kind} named {name!r}", hint=hint)
        self.kind = kind
        self.name = name


class InvalidInputError(BrandkitError):
    """A value given on the command line or in a file is malformed."""

    exit_code = 65  # EX_DATAERR


class TemplateError(BrandkitError):
    """A post template cannot be found, parsed or rendered.

    ``path`` and ``line`` point at the place to fix when they are known.
    """

    exit_code = 65

    def __init__(
        self,
        message: str,
        *,
        template: str | None = None,
        path: str | None = None,
        line: int | None = None,
        hint: str | None = None,
    ) -> None:
        where = path or template
        if where and line:
            message = f"{where}:{line}: {message}"
        elif where:
            message = f"{where}: {message}"
        super().__init__(message, hint=hint)
        self.template = template
        self.path = path
        self.line = line


class RulePackError(TemplateError):
    """A rule pack cannot be used; ``path`` and ``rule_id`` say where to fix it."""

    def __init__(self, message: str, *, path: Path, rule_id: str | None = None) -> None:
        where = f"rule {rule_id!r}: " if rule_id else ""
        hint = "fix the rule pack; the schema is at the top of brandkit/content/compliance.py"
        super().__init__(f"{where}{message}", path=str(path), hint=hint)
        self.rule_id = rule_id


class StateError(BrandkitError):
    """A post or variant cannot move from its current state to the requested one."""

    exit_code = 69  # EX_UNAVAILABLE

    def __init__(self, message: str, *, current: str | None = None, hint: str | None = None):
        super().__init__(message, hint=hint)
        self.current = current


class ConcurrentUpdateError(StateError):
    """A compare-and-set lost the race: another process moved the row first."""


class UnknownPlatformError(BrandkitError):
    """No connector is registered under the given platform name."""

    exit_code = 66

    def __init__(self, name: str, known: list[str]) -> None:
        super().__init__(
            f'No platform by the name "{name}" was found',
            hint=f"known platforms: {', '.join(sorted(known))}",
        )
        self.name = name
        self.known = known


class PlatformError(BrandkitError):
    """A platform answered with an error; ``status`` and ``body`` are what it said.

    ``body`` is kept short and never contains credentials (connectors redact before raising).
    """

    def __init__(
        self,
        message: str,
        *,
        platform: str,
        status: int | None = None,
        body: str | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(f"{platform}: {message}", hint=hint)
        self.platform = platform
        self.status = status
        self.body = body
        self.reason = message


class AuthExpiredError(PlatformError):
    """The platform rejected the credentials: the account must be re-authorised."""


class RejectedError(PlatformError):
    """The platform refused the content itself (validation error); retrying will not help."""


class TransientError(PlatformError):
    """A failure worth retrying later: the request certainly did not take effect."""


class RateLimitedError(TransientError):
    """The platform asked us to slow down; ``reset_at`` (UTC) says when to try again."""

    def __init__(
        self,
        message: str,
        *,
        platform: str,
        reset_at: datetime | None,
        status: int | None = 429,
        body: str | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message, platform=platform, status=status, body=body, hint=hint)
        self.reset_at = reset_at


class OutcomeUnknownError(TransientError):
    """The request was sent but no answer came back: it may or may not have taken effect.

    The publisher marks the variant ``unconfirmed`` and asks the connector to look for the post
    before anything is sent again.
    """

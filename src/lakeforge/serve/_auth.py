"""Users, API tokens and roles: who may do what.

Tokens are ``lf_`` + 43 random URL-safe characters (``secrets.token_urlsafe(32)``); the
catalog keeps only their SHA-256, so a token is shown once, when it is made. The permission
matrix below is data, so the README table, the API and the dashboard all read one source.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Final

from lakeforge.catalog import Catalog, UserRecord
from lakeforge.errors import ConfigError, PermissionDeniedError

__all__ = [
    "PERMISSIONS",
    "ROLES",
    "TOKEN_PREFIX",
    "Caller",
    "Permission",
    "create_user",
    "hash_token",
    "issue_token",
    "new_token",
    "parse_duration",
    "token_expiry",
]

TOKEN_PREFIX: Final = "lf_"
_USER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$")
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$")
_UNIT_SECONDS: Final = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_MAX_DURATION_S: Final = 3650 * 86400


class Permission(StrEnum):
    """One thing a role may do."""

    READ_METADATA = "read_metadata"
    """List tables; read schemas, contracts, history, quality results and lineage."""
    READ_ROWS = "read_rows"
    """Read a table's rows (pages, exports, dashboard samples)."""
    QUERY_SQL = "query_sql"
    """Run read-only SQL."""
    READ_QUARANTINE = "read_quarantine"
    """Read rejected rows and their reasons."""
    SEE_PII = "see_pii"
    """See PII columns unmasked (everyone else gets them masked)."""
    INGEST = "ingest"
    """Write data into a table."""
    MANAGE_USERS = "manage_users"
    """Add users, issue and revoke tokens."""
    READ_AUDIT = "read_audit"
    """Read the audit log."""


_EVERYTHING = frozenset(Permission)
_READER = frozenset(
    {
        Permission.READ_METADATA,
        Permission.READ_ROWS,
        Permission.QUERY_SQL,
        Permission.READ_QUARANTINE,
    }
)
PERMISSIONS: Final[dict[str, frozenset[Permission]]] = {
    "admin": _EVERYTHING,
    "engineer": _READER | {Permission.SEE_PII, Permission.INGEST},
    "analyst": _READER,
    "viewer": frozenset({Permission.READ_METADATA}),
}
"""The permission matrix: role -> what it may do."""

ROLES: Final = tuple(PERMISSIONS)
"""The roles, most powerful first."""


@dataclass(frozen=True)
class Caller:
    """The authenticated user behind a request."""

    name: str
    role: str
    permissions: frozenset[Permission] = field(default_factory=frozenset)

    @classmethod
    def from_user(cls, user: UserRecord) -> Caller:
        """The caller for a catalog user (an unknown role gets no permission)."""
        return cls(user.name, user.role, PERMISSIONS.get(user.role, frozenset()))

    def can(self, permission: Permission) -> bool:
        """Whether the caller's role grants ``permission``."""
        return permission in self.permissions

    def require(self, permission: Permission) -> None:
        """Raise PermissionDeniedError unless the role grants ``permission``."""
        if permission not in self.permissions:
            allowed = ", ".join(r for r, perms in PERMISSIONS.items() if permission in perms)
            raise PermissionDeniedError(
                f"role `{self.role}` may not {permission.value.replace('_', ' ')} "
                f"(roles that may: {allowed}); ask an admin for another role"
            )


def new_token() -> str:
    """A fresh random API token."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    """The SHA-256 hex digest stored in the catalog instead of the token."""
    return hashlib.sha256(token.encode()).hexdigest()


def parse_duration(text: str) -> dt.timedelta:
    """``90s``, ``15m``, ``1h``, ``30d``, ``2w`` as a timedelta.

    Raises:
        ConfigError: the text is not a number followed by s, m, h, d or w.
    """
    match = _DURATION.match(text)
    if not match:
        raise ConfigError(f"{text!r} is not a duration like 90s, 15m, 1h, 30d or 2w")
    seconds = float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
    if seconds > _MAX_DURATION_S:
        raise ConfigError(f"{text!r} is longer than ten years; pick a shorter duration")
    return dt.timedelta(seconds=seconds)


def token_expiry(expires_in: dt.timedelta | str | None) -> dt.datetime | None:
    """When a token made now with this lifetime expires (None: never)."""
    if expires_in is None:
        return None
    delta = parse_duration(expires_in) if isinstance(expires_in, str) else expires_in
    if delta.total_seconds() <= 0:
        raise ConfigError("a token's lifetime must be positive")
    return dt.datetime.now(dt.UTC) + delta


def create_user(
    catalog: Catalog, name: str, *, role: str, expires_in: dt.timedelta | str | None = None
) -> tuple[UserRecord, str]:
    """Add a user with a first token; returns the user and the token (shown only now).

    Example:
        >>> user, token = create_user(ws.catalog, "alice", role="analyst")  # doctest: +SKIP

    Raises:
        ConfigError: unknown role, bad name, bad lifetime, or the user exists.
    """
    if role not in PERMISSIONS:
        raise ConfigError(f"unknown role {role!r}; roles are {', '.join(ROLES)}")
    if not _USER_NAME.match(name):
        raise ConfigError(f"user name {name!r} must be 1-64 letters, digits, '_', '.', '@' or '-'")
    if any(u.name == name for u in catalog.list_users()):
        raise ConfigError(
            f"user `{name}` already exists; give them another token with "
            f"`lakeforge users token {name}`"
        )
    token = new_token()
    user = catalog.add_user(
        name, role=role, token_hash=hash_token(token), expires_at=token_expiry(expires_in)
    )
    return user, token


def issue_token(
    catalog: Catalog, name: str, *, expires_in: dt.timedelta | str | None = None
) -> str:
    """Give an existing user another token and return it (shown only now)."""
    token = new_token()
    catalog.add_token(name, hash_token(token), expires_at=token_expiry(expires_in))
    return token

"""Lakeforge's one error hierarchy.

Every error a user can act on derives from :class:`LakeforgeError` and also from the
matching built-in exception, so ``except ValueError`` keeps working::

    LakeforgeError
    ├── ConfigError (ValueError)                  bad settings or lakeforge.toml
    ├── WorkspaceError (RuntimeError)             no workspace here, or a broken one
    ├── NotFoundError (LookupError)
    │   └── TableNotFoundError                    no such table / version
    ├── ContractError (ValueError)                an invalid contract (all problems at once)
    │   └── SynthesisError                        tables that cannot be synthesised as asked
    ├── SourceError (ValueError)                  a source that cannot be read at all
    ├── IngestError (RuntimeError)
    │   └── RejectedDataError                     reject rate above --max-reject-rate
    ├── QueryError (ValueError)                   SQL that fails or is not allowed
    │   └── ForbiddenQueryError (PermissionError-like: the sandbox refused it)
    ├── CatalogError (RuntimeError)               the metadata store failed
    ├── AuthError (PermissionError)
    │   ├── AuthenticationError                   no / bad token
    │   └── PermissionDeniedError                 the role may not do this
    └── NotFittedError (ValueError)               a model used before fit()
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = [
    "AuthError",
    "AuthenticationError",
    "CatalogError",
    "ConfigError",
    "ContractError",
    "ForbiddenQueryError",
    "IngestError",
    "LakeforgeError",
    "NotFittedError",
    "NotFoundError",
    "PermissionDeniedError",
    "QueryError",
    "RejectedDataError",
    "SourceError",
    "SynthesisError",
    "TableNotFoundError",
    "WorkspaceError",
]


class LakeforgeError(Exception):
    """Base of every Lakeforge error; carries optional context for messages and the API."""

    code: str = "lakeforge_error"

    def __init__(
        self,
        message: str,
        *,
        table: str | None = None,
        column: str | None = None,
        row: int | None = None,
        source: str | None = None,
        problems: Sequence[str] = (),
    ) -> None:
        super().__init__(message)
        self.message = message
        self.table = table
        self.column = column
        self.row = row
        self.source = source
        self.problems = list(problems)

    def __str__(self) -> str:
        if not self.problems:
            return self.message
        listed = "\n".join(f"  - {p}" for p in self.problems)
        return f"{self.message}\n{listed}"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready description, used by the CLI's --json and the REST service."""
        out: dict[str, Any] = {"code": self.code, "message": self.message}
        for key in ("table", "column", "row", "source"):
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        if self.problems:
            out["problems"] = self.problems
        return out


class ConfigError(LakeforgeError, ValueError):
    """Settings or lakeforge.toml are invalid."""

    code = "config_error"


class WorkspaceError(LakeforgeError, RuntimeError):
    """The directory is not a workspace, or the workspace is damaged."""

    code = "workspace_error"


class NotFoundError(LakeforgeError, LookupError):
    """Something the user named does not exist."""

    code = "not_found"


class TableNotFoundError(NotFoundError):
    """No such table, or no such version of it."""

    code = "table_not_found"


class ContractError(LakeforgeError, ValueError):
    """A contract is invalid; ``problems`` lists every issue found."""

    code = "contract_error"


class SynthesisError(ContractError):
    """Tables and contracts that cannot be synthesised as asked (all problems listed)."""

    code = "synthesis_error"


class SourceError(LakeforgeError, ValueError):
    """A source cannot be read at all (missing file, unknown format, unreachable database)."""

    code = "source_error"


class IngestError(LakeforgeError, RuntimeError):
    """An ingest failed; the table is left at its previous version."""

    code = "ingest_error"


class RejectedDataError(IngestError):
    """More rows were rejected than ``max_reject_rate`` allows; nothing was written."""

    code = "data_rejected"

    def __init__(self, message: str, *, result: Any = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.result = result


class QueryError(LakeforgeError, ValueError):
    """A query failed to parse or run."""

    code = "query_error"


class ForbiddenQueryError(QueryError):
    """A query tried to leave the sandbox (files, network, writes, settings)."""

    code = "forbidden_query"


class CatalogError(LakeforgeError, RuntimeError):
    """The metadata catalog could not be read or written."""

    code = "catalog_error"


class AuthError(LakeforgeError, PermissionError):
    """Base for authentication and authorisation failures."""

    code = "auth_error"


class AuthenticationError(AuthError):
    """No token, or a token that is unknown, revoked or expired."""

    code = "unauthenticated"


class PermissionDeniedError(AuthError):
    """The caller's role does not allow this action."""

    code = "forbidden"


class NotFittedError(LakeforgeError, ValueError):
    """A model was asked to predict or sample before ``fit``."""

    code = "not_fitted"

"""The curated public surface: ``__all__`` lists are sorted and complete, errors are drawn."""

from __future__ import annotations

import builtins
import importlib
import inspect
import pkgutil
import re
from types import ModuleType

import pytest

import lakeforge
from lakeforge import errors

# Alembic's env.py runs migrations when imported; it is not part of the API.
_NOT_IMPORTED = ("lakeforge.catalog.migrations",)


def _modules() -> list[ModuleType]:
    """Every module of the package (private ``_x`` ones included).

    A module whose optional third-party stack is not installed (an extra) is left out; a
    missing Lakeforge module is not.
    """
    modules = []
    names = sorted(info.name for info in pkgutil.walk_packages(lakeforge.__path__, "lakeforge."))
    for name in names:
        if name.startswith(_NOT_IMPORTED):
            continue
        try:
            modules.append(importlib.import_module(name))
        except ModuleNotFoundError as exc:
            if (exc.name or "").startswith("lakeforge"):
                raise
    return modules


def _with_all() -> list[ModuleType]:
    return [lakeforge, *(m for m in _modules() if hasattr(m, "__all__"))]


def _isort_key(name: str) -> tuple[int, list[int | str]]:
    """ruff RUF022's order: SCREAMING_CASE, then CamelCase, then the rest; natural sort."""
    group = 0 if len(name) > 1 and name.isupper() else 1 if name[:1].isupper() else 2
    return group, [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name)]


def test_top_level_all_is_sorted_and_every_name_resolves() -> None:
    names = list(lakeforge.__all__)
    assert names == sorted(names)
    assert len(set(names)) == len(names)
    missing = [name for name in names if not hasattr(lakeforge, name)]
    assert missing == []


def test_top_level_exposes_the_documented_entry_points() -> None:
    # the README's `import lakeforge as lf` tour uses these
    for name in ("Workspace", "Contract", "ReadOptions", "IngestResult", "LakeforgeError"):
        assert name in lakeforge.__all__


@pytest.mark.parametrize("module", _with_all(), ids=lambda m: m.__name__)
def test_module_all_is_sorted_and_complete(module: ModuleType) -> None:
    names = list(module.__all__)
    # plain sorted() or ruff's isort-style order (constants first) are both accepted
    assert names in (sorted(names), sorted(names, key=_isort_key)), (
        f"{module.__name__}.__all__ is not sorted: {names}"
    )
    assert len(set(names)) == len(names), f"{module.__name__}.__all__ repeats a name"
    missing = [name for name in names if not hasattr(module, name)]
    assert missing == [], f"{module.__name__}.__all__ lists undefined names"


def test_every_private_module_with_definitions_declares_all() -> None:
    # Setup: a private module that defines public functions or classes must curate them
    lacking = []
    for module in _modules():
        if not module.__name__.rsplit(".", 1)[-1].startswith("_") or hasattr(module, "__all__"):
            continue
        own = [
            name
            for name, value in vars(module).items()
            if not name.startswith("_")
            and (inspect.isfunction(value) or inspect.isclass(value))
            and value.__module__ == module.__name__
        ]
        if own:
            lacking.append(module.__name__)
    # Assert
    assert lacking == []


def _error_classes() -> dict[str, type[BaseException]]:
    return {
        name: value
        for name, value in vars(errors).items()
        if inspect.isclass(value) and issubclass(value, errors.LakeforgeError)
    }


def test_errors_all_lists_every_error_class() -> None:
    assert sorted(_error_classes()) == sorted(errors.__all__)


def test_error_tree_in_the_docstring_names_every_error() -> None:
    doc = errors.__doc__ or ""
    drawn = set(re.findall(r"\b([A-Z][A-Za-z]+Error)\b", doc))
    assert set(_error_classes()) <= drawn


def test_error_tree_in_the_docstring_matches_the_class_hierarchy() -> None:
    # Setup: the tree follows the "::" line; the column where a name starts is its depth
    doc = errors.__doc__ or ""
    tree = doc.split("::", 1)[1]
    stack: list[tuple[int, str]] = []
    checked = 0
    for line in tree.splitlines():
        match = re.match(r"^([\s│├└─]*)([A-Z][A-Za-z]+Error)\b(?: \((\w+)\))?", line)
        if match is None:
            continue
        depth, name, builtin_name = len(match.group(1)), match.group(2), match.group(3)
        while stack and stack[-1][0] >= depth:
            stack.pop()
        cls = getattr(errors, name)
        # Assert: each class derives from the class it is drawn under
        if stack:
            parent = getattr(errors, stack[-1][1])
            assert parent in cls.__bases__, f"{name} is drawn under {parent.__name__}"
        else:
            assert cls is errors.LakeforgeError
        # and from the built-in named beside it
        builtin = getattr(builtins, builtin_name or "", None)
        if isinstance(builtin, type) and issubclass(builtin, BaseException):
            assert issubclass(cls, builtin), f"{name} should also be a {builtin_name}"
        stack.append((depth, name))
        checked += 1
    assert checked == len(_error_classes())


def test_every_error_derives_from_lakeforge_error_and_has_its_own_code() -> None:
    classes = _error_classes()
    codes = [cls.code for cls in classes.values()]  # type: ignore[attr-defined]
    assert len(set(codes)) == len(codes)
    assert all(issubclass(cls, errors.LakeforgeError) for cls in classes.values())


def test_not_fitted_error_is_a_value_error() -> None:
    # scikit-learn's convention: `except ValueError` catches a model used before fit()
    assert issubclass(lakeforge.NotFittedError, ValueError)
    with pytest.raises(ValueError, match="fit"):
        raise lakeforge.NotFittedError("call fit() first")


def test_errors_carry_context_into_their_json_form() -> None:
    exc = errors.TableNotFoundError("no table `orders`", table="orders")
    assert isinstance(exc, LookupError)
    assert exc.to_dict() == {
        "code": "table_not_found",
        "message": "no table `orders`",
        "table": "orders",
    }

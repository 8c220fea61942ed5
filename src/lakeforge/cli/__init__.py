"""The ``lakeforge`` command line."""

from lakeforge.cli._app import app, main

__all__ = ["app", "main"]

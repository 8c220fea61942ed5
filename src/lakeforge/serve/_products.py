"""Where data products plug into the service: one line per product."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import APIRouter

__all__ = ["PRODUCTS", "ProductPage"]


@dataclass(frozen=True)
class ProductPage:
    """A dashboard page a data product adds: its path and its title in the navigation."""

    path: str
    title: str


PRODUCTS: list[tuple[APIRouter, ProductPage | None]] = []
"""Products' routers (and pages), mounted by every app ``create_app`` builds. A product adds
itself with one line: ``PRODUCTS.append((router, ProductPage("/forecast", "Forecast")))``."""

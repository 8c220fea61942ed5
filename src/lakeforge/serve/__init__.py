"""The REST service and dashboard: roles, masking, audit, metrics.

Example:
    >>> from lakeforge.serve import create_app, serve
    >>> app = create_app("./shop")  # doctest: +SKIP
    >>> serve("./shop")  # uvicorn on 127.0.0.1:8000  # doctest: +SKIP

A data product plugs in with one line: ``register_product(app, router, page=...)`` on an
app, or ``PRODUCTS.append((router, ProductPage("/forecast", "Forecast")))`` for every app.
"""

from lakeforge.serve._app import API_PREFIX, create_app, register_product, serve
from lakeforge.serve._auth import (
    PERMISSIONS,
    ROLES,
    Caller,
    Permission,
    create_user,
    hash_token,
    issue_token,
    parse_duration,
)
from lakeforge.serve._masking import mask_sql, masked_columns
from lakeforge.serve._products import PRODUCTS, ProductPage

__all__ = [
    "API_PREFIX",
    "PERMISSIONS",
    "PRODUCTS",
    "ROLES",
    "Caller",
    "Permission",
    "ProductPage",
    "create_app",
    "create_user",
    "hash_token",
    "issue_token",
    "mask_sql",
    "masked_columns",
    "parse_duration",
    "register_product",
    "serve",
]

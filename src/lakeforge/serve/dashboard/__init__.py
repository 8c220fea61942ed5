"""The dashboard: server-rendered pages (Jinja2) with Chart.js vendored in ``static/``."""

from lakeforge.serve.dashboard._pages import install_dashboard

__all__ = ["install_dashboard"]

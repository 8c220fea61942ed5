"""Data products built on the lakehouse: tables in, tables out (forecasting, inventory, ...)."""

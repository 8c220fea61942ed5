"""Synthetic data: synthesizers, multi-table synthesis, the retail world simulator, evaluation."""

"""Metrics: image quality and identity."""

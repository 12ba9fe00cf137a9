"""Datasets: fetching, loading, splits."""

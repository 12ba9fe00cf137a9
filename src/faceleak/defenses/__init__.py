"""Defenses: what the protected side does to its templates or outputs."""

"""Attacks: what an adversary does with what leaked."""

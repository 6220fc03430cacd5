"""Scoring: what the models learn from and how clients are scored."""

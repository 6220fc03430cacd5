"""clientscore: classifies an insurer's clients on value, risk and lifecycle stage."""

__version__ = "0.1.0"

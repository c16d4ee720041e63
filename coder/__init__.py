"""coder: a local qualitative thematic coding assistant."""

__version__ = "0.1.0"

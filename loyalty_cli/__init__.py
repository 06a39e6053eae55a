"""loyalty-cli: a command-line loyalty programme for small shops."""

__version__ = "0.1.0"

"""pytest-devsession: every test inside a capture session on a real device or browser."""

__version__ = "0.1.0"

from .backend import HeadSpinBackend

__all__ = ["HeadSpinBackend"]

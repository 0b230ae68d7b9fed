"""An offline emulator of the HeadSpin API, for tests (like moto for AWS).

``HeadSpinEmulator`` serves the API on a local port; ``Fault`` describes an injected
misbehaviour. Both are imported lazily so that loading the pytest plugin stays cheap.
"""

__all__ = ["HeadSpinEmulator", "Fault"]


def __getattr__(name):
    if name == "HeadSpinEmulator":
        from .server import HeadSpinEmulator

        return HeadSpinEmulator
    if name == "Fault":
        from .models import Fault

        return Fault
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

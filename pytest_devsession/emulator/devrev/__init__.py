"""An offline emulator of DevRev's observability API, for tests (like moto for AWS).

``DevRevEmulator`` serves ``observability.sessions.list``, ``.get`` and ``.data.get`` behind a bearer
token and the ``X-Devrev-Scope: beta`` header, an SDK-like upload route
(``/_emulator/sessions.upload``) and the presigned links of the recordings' frames, on a local port;
``Fault`` describes an injected misbehaviour. Both are imported lazily so that loading the pytest
plugin (``fixture``) stays cheap. See docs/emulator.md, DevRev.
"""

__all__ = ["DevRevEmulator", "Fault"]


def __getattr__(name):
    if name == "DevRevEmulator":
        from .server import DevRevEmulator

        return DevRevEmulator
    if name == "Fault":
        from ..models.faults import Fault

        return Fault
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

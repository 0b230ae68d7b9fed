"""An offline emulator of LambdaTest, for tests (like moto for AWS).

``LambdaTestEmulator`` serves a WebDriver hub (``/wd/hub``, a real headless Chromium behind
it), the Automation API (``/automation/api/v1``) and the signed links it hands out, on a local
port; ``Fault`` describes an injected misbehaviour. Both are imported lazily so that loading the
pytest plugin (``fixture``) stays cheap.
"""

__all__ = ["Fault", "LambdaTestEmulator"]


def __getattr__(name):
    if name == "LambdaTestEmulator":
        from .server import LambdaTestEmulator

        return LambdaTestEmulator
    if name == "Fault":
        from ..models.faults import Fault

        return Fault
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

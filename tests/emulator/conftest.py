import time

import pytest
import requests

import pytest_devsession.emulator.fixture as emulator_plugin
from pytest_devsession.emulator import HeadSpinEmulator

ANDROID = HeadSpinEmulator.DEFAULT_DEVICES[0]


def pytest_configure(config):
    # The plugin is also a pytest11 entry point once the package is installed:
    # register it here only when that has not happened already.
    if not config.pluginmanager.is_registered(emulator_plugin):
        config.pluginmanager.register(emulator_plugin, "devsession_emulator")


class Api:
    """requests against the emulator, authenticated, with a timeout on every call."""

    def __init__(self, emulator):
        self.emulator = emulator
        self.http = requests.Session()
        self.http.headers["Authorization"] = f"Bearer {emulator.token}"

    def request(self, method, path, **kwargs):
        kwargs.setdefault("timeout", 5)
        return self.http.request(method, self.emulator.url + path, **kwargs)

    def get(self, path, **kwargs):
        return self.request("GET", path, **kwargs)

    def post(self, path, **kwargs):
        return self.request("POST", path, **kwargs)

    def put(self, path, **kwargs):
        return self.request("PUT", path, **kwargs)

    def patch(self, path, **kwargs):
        return self.request("PATCH", path, **kwargs)

    def delete(self, path, **kwargs):
        return self.request("DELETE", path, **kwargs)

    def start_capture(self, address=ANDROID, **extra):
        platform_route = "idevice" if "ios" in address else "adb"
        assert self.post(f"/{platform_route}/{address.split('@')[0]}/lock").json()["status"] == 0
        body = {"session_type": "capture", "device_address": address, "nowait": True, **extra}
        response = self.post("/sessions", json=body)
        assert response.status_code == 200, response.text
        return response.json()["session_id"]

    def stop_capture(self, session_id):
        response = self.patch(f"/sessions/{session_id}", json={"active": False, "nowait": True})
        assert response.status_code == 200, response.text
        return response

    def wait_timestamp(self, session_id, key, timeout=3.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                response = self.get(f"/sessions/{session_id}/timestamps")
            except requests.ConnectionError:
                response = None
            if response is not None and response.status_code == 200 and key in response.json():
                return response.json()
            time.sleep(0.01)
        raise AssertionError(f"no {key} within {timeout} s")

    def close(self):
        self.http.close()


@pytest.fixture
def api(headspin_emulator):
    client = Api(headspin_emulator)
    yield client
    client.close()


class Clock:
    """A clock a test moves by hand: ``clock.now`` seconds since the epoch, ``clock.advance(s)``."""

    def __init__(self, now: float = 1_700_000_000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def clocked_api(clock):
    """``api`` against an emulator of its own that runs on ``clock``: minutes of capture in no time."""
    with HeadSpinEmulator(clock=clock, ready_delay=0.5, complete_delay=0.5) as emulator:
        client = Api(emulator)
        yield client
        client.close()

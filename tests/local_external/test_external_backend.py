"""The local backend's side of an external server, in process: back-to-back test windows on a
one-recording server, and the entry count of each downloaded HAR (``backend.har_entries``)."""

from __future__ import annotations

import json
import time

import pytest
from external_helpers import TOKEN, flags, through

from pytest_devsession.backends.base import CaptureOptions
from pytest_devsession.backends.local.backend import LOCAL, LocalBackend
from pytest_devsession.backends.local.settings import LocalSettings
from pytest_devsession.contents import describe
from pytest_devsession.services.capture import MITMPROXY_WARNING_FILTERS
from pytest_devsession.settings import Secret, Settings

pytestmark = [pytest.mark.filterwarnings(f) for f in MITMPROXY_WARNING_FILTERS]


@pytest.fixture
def backend_for(tmp_path):
    made = []

    def make(server) -> LocalBackend:
        section = LocalSettings(local_url=server.api_url, local_proxy=server.proxy_url, local_token=Secret(TOKEN))
        settings = Settings(enabled=True, section=section, store_dir=tmp_path / ".devsession")
        made.append(LocalBackend(settings))
        return made[-1]

    yield make
    for backend in made:
        backend.close()  # a second close does nothing


def without_listing(server) -> None:
    """Take NectoProxy's traffic listing and export of chosen entries away from ``server``."""
    api = server.capture._api
    api.routes = [r for r in api.routes if (r.method, r.pattern) not in {("GET", "/api/traffic"),
                                                                         ("POST", "/api/har/export")}]


@pytest.mark.parametrize("behave", ["nectoproxy", "nectoproxy without listing", "documented"])
def test_back_to_back_captures_each_get_their_own_requests(behave, request, backend_for, origin, tmp_path):
    server = request.getfixturevalue("documented" if behave == "documented" else "necto")
    if behave == "nectoproxy without listing":
        without_listing(server)  # found through HAR exports, cut by time
    for n in range(3):
        assert through(server, f"{origin.url}/before-{n}").ok  # the user's, not any test's
    found = flags(server)
    backend = backend_for(server)
    backend.devices()
    assert backend.external.has_listing is (behave != "nectoproxy without listing")
    assert backend.session_environment("x")["ca_cert_path"].endswith(".pem")
    counts = {}
    # more requests than a first page of the listing holds
    for name, paths in [("a", [f"/a{n}" for n in range(25)]), ("b", []), ("c", ["/c1"])]:
        session_id = backend.start_capture(LOCAL, CaptureOptions(name))
        backend.wait_ready(session_id, time.monotonic() + 5)
        for path in paths:
            assert through(server, origin.url + path).ok
        backend.stop_capture(session_id, time.monotonic() + 5)
        dest = tmp_path / f"{name}.har"
        backend.download(session_id, "har", dest)
        urls = [e["request"]["url"] for e in json.loads(dest.read_text())["log"]["entries"]]
        assert urls == [origin.url + p for p in paths]
        counts[name] = describe("har", dest)["har_entries"]
    assert counts == {"a": 25, "b": 0, "c": 1}
    backend.close()
    assert flags(server) == found

"""HTTPS through the proxy: the client trusts the server's CA, the proxy trusts the origin's."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from pytest_devsession.services.capture import MITMPROXY_WARNING_FILTERS, CaptureServer

# mitmproxy's TLS interception warns on its own thread; under -W error that fails the handshake
pytestmark = [pytest.mark.filterwarnings(f) for f in MITMPROXY_WARNING_FILTERS]


@pytest.fixture(scope="module")
def capture(test_ca) -> Iterator[CaptureServer]:
    # the proxy verifies the loopback origin's certificate against the test CA
    with CaptureServer(mitmproxy_options={"ssl_verify_upstream_trusted_ca": str(test_ca.ca_pem)}) as server:
        yield server


def test_https_is_intercepted_and_recorded(api, client, capture, tls_origin):
    session = api.new_session("tls")
    response = client.get(f"{tls_origin.url}/bytes/500", timeout=10)
    assert response.status_code == 200
    assert response.content == b"x" * 500

    # one entry for the request, none for the CONNECT that carried it
    counted = api.session(session["id"])
    assert (counted["trafficCount"], counted["totalBytes"]) == (1, 500)
    [flow] = capture.flows(session["id"])
    assert flow.request.scheme == "https"
    entries = api.ok("GET", f"/har/export/{session['id']}")["log"]["entries"]
    assert [e["request"]["url"] for e in entries] == [f"{tls_origin.url}/bytes/500"]


def test_the_proxy_presents_certificates_from_its_own_ca(capture, tls_origin):
    assert capture.ca_cert_path.is_file()
    with requests.Session() as untrusting:
        untrusting.trust_env = False
        untrusting.proxies = {"https": capture.proxy_url}
        with pytest.raises(requests.exceptions.SSLError):
            untrusting.get(f"{tls_origin.url}/", timeout=10)

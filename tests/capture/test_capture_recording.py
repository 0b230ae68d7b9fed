"""What goes into which session: recording semantics, true counts, HAR, background hosts."""

from __future__ import annotations

import re
import threading
import uuid
from types import SimpleNamespace

import pytest

from pytest_devsession.services.capture import DEFAULT_BACKGROUND_HOSTS, SessionNotFound
from pytest_devsession.services.capture.recorder import Recorder
from pytest_devsession.services.capture.sessions import SessionStore


def unique(prefix: str = "p") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def paths(capture, session_id: str) -> list[str]:
    return [flow.request.path for flow in capture.flows(session_id)]


def test_traffic_goes_only_into_the_active_recording_session(api, client, capture, origin):
    session = api.new_session("semantics", activate=False)
    before = f"/{unique('before')}"
    assert client.get(origin.url + before, timeout=10).text == "ok"

    api.ok("POST", f"/sessions/{session['id']}/activate")
    during = f"/{unique('during')}"
    assert client.get(origin.url + during, timeout=10).text == "ok"

    api.ok("PATCH", f"/sessions/{session['id']}", json={"isRecording": False})
    after = f"/{unique('after')}"
    assert client.get(origin.url + after, timeout=10).text == "ok"

    assert paths(capture, session["id"]) == [during]
    assert api.session(session["id"])["trafficCount"] == 1
    # the proxy forwarded all three to the loopback origin
    assert {before, during, after} <= {path for _, path, _ in origin.seen}


def test_sessions_in_sequence_each_get_their_own_requests(api, client, capture, origin):
    first = api.new_session("first")
    first_paths = [f"/{unique('first')}" for _ in range(3)]
    for path in first_paths:
        client.get(origin.url + path, timeout=10)

    second = api.new_session("second")
    second_paths = [f"/{unique('second')}" for _ in range(2)]
    for path in second_paths:
        client.get(origin.url + path, timeout=10)

    assert paths(capture, first["id"]) == first_paths
    assert paths(capture, second["id"]) == second_paths
    assert api.session(first["id"])["trafficCount"] == 3
    assert api.session(second["id"])["trafficCount"] == 2


def test_nothing_is_stored_without_a_recording_session(api, client, capture, origin):
    idle = api.new_session("idle", activate=False)
    client.get(f"{origin.url}/{unique()}", timeout=10)
    assert capture.flows(idle["id"]) == []
    assert capture.store.record(SimpleNamespace(metadata={})) is None


def test_counts_are_true_body_bytes(api, client, capture, origin):
    session = api.new_session("bytes")
    assert len(client.get(f"{origin.url}/bytes/1000", timeout=10).content) == 1000
    posted = b"y" * 300
    assert client.post(f"{origin.url}/echo", data=posted, timeout=10).content == posted
    client.get(f"{origin.url}/bytes/0", timeout=10)

    counted = api.session(session["id"])
    assert counted["trafficCount"] == 3
    # request bodies + response bodies: 1000 + (300 + 300) + 0; headers are not counted
    assert counted["totalBytes"] == 1600
    flows = capture.flows(session["id"])
    assert sum(len(f.request.raw_content) + len(f.response.raw_content) for f in flows) == 1600


def test_a_request_belongs_to_the_session_recording_when_it_started(api, client, capture, origin):
    session = api.new_session("in flight")
    slow = threading.Thread(target=client.get, args=(f"{origin.url}/slow/400",), kwargs={"timeout": 10})
    slow.start()
    # wait until the proxy has the request, then stop recording while it runs
    for _ in range(200):
        if api.session(session["id"])["trafficCount"] == 1:
            break
        threading.Event().wait(0.01)
    stopped = api.ok("PATCH", f"/sessions/{session['id']}", json={"isRecording": False})
    assert (stopped["trafficCount"], stopped["totalBytes"]) == (1, 0)
    slow.join()
    assert api.session(session["id"])["totalBytes"] == len(b"slow")


def test_har_export_holds_the_sessions_entries(api, client, origin):
    session = api.new_session("Checkout Flow")
    first, second = f"/{unique('har')}", f"/{unique('har')}"
    client.get(origin.url + first, timeout=10)
    client.post(origin.url + second, json={"k": "v"}, timeout=10)

    response = api("GET", f"/har/export/{session['id']}")
    assert response.status_code == 200
    assert re.fullmatch(r'attachment; filename="Checkout_Flow_\d{13}\.har"', response.headers["Content-Disposition"])
    log = response.json()["log"]
    assert log["version"] == "1.2"
    assert log["creator"]["name"] == "mitmproxy"
    entries = log["entries"]
    assert [(e["request"]["method"], e["request"]["url"]) for e in entries] == [
        ("GET", origin.url + first),
        ("POST", origin.url + second),
    ]
    assert [e["response"]["status"] for e in entries] == [200, 200]
    assert entries[0]["response"]["content"]["text"] == "ok"
    assert entries[1]["request"]["postData"]["text"] == '{"k": "v"}'
    for entry in entries:
        assert {"startedDateTime", "time", "request", "response", "cache", "timings"} <= set(entry)


def test_deleting_a_session_drops_its_flows(api, client, capture, origin):
    session = api.new_session("doomed")
    client.get(f"{origin.url}/{unique()}", timeout=10)
    api.ok("DELETE", f"/sessions/{session['id']}")
    with pytest.raises(SessionNotFound):
        capture.flows(session["id"])
    # traffic after the active session is gone is not stored anywhere
    client.get(f"{origin.url}/{unique()}", timeout=10)
    assert api.ok("GET", "/sessions") == {"sessions": []}


@pytest.mark.parametrize("host", ["update.googleapis.com", "clients2.google.com", "safebrowsing.example"])
def test_background_hosts_are_not_stored(api, client, capture, origin, host):
    session = api.new_session("background")
    path = f"/{unique('bg')}"
    # absolute-form to the loopback origin, Host header naming the background host:
    # the request never leaves loopback but carries the ignored name
    assert client.get(origin.url + path, headers={"Host": host}, timeout=10).text == "ok"
    assert ("GET", path, host) in origin.seen
    kept = f"/{unique('kept')}"
    client.get(origin.url + kept, timeout=10)
    assert paths(capture, session["id"]) == [kept]


def _flow(host: str, header: str | None = None, sni: str | None = None) -> SimpleNamespace:
    request = SimpleNamespace(host=host, pretty_host=header or host)
    return SimpleNamespace(request=request, client_conn=SimpleNamespace(sni=sni), metadata={})


@pytest.mark.parametrize(
    "flow, ignored",
    [
        (_flow("www.gstatic.com"), True),
        (_flow("optimizationguide-pa.googleapis.com"), True),
        (_flow("edgedl.me.gvt1.com"), True),
        (_flow("ACCOUNTS.GOOGLE.COM"), True),
        (_flow("clients4.google.com"), True),
        (_flow("127.0.0.1", sni="update.googleapis.com"), True),
        (_flow("127.0.0.1"), False),
        (_flow("google.com"), False),
        (_flow("www.google.com.example"), False),
        (_flow("example.com", header="example.com"), False),
    ],
)
def test_default_background_hosts(flow, ignored):
    assert Recorder(SessionStore(), DEFAULT_BACKGROUND_HOSTS).is_ignored(flow) is ignored


def test_ignore_hosts_can_be_replaced():
    recorder = Recorder(SessionStore(), [r"noise\.test"])
    assert recorder.is_ignored(_flow("noise.test"))
    assert not recorder.is_ignored(_flow("www.gstatic.com"))

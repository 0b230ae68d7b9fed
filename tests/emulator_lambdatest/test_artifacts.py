import io
import json
import re
import time
import zipfile
from datetime import datetime

import pytest
import requests

pytestmark = pytest.mark.filterwarnings("ignore:Embedding username and password in URL:UserWarning")

ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$")


def assert_har_1_2(document):
    """The parts of HAR 1.2 a reader relies on, each of its type."""
    log = document["log"]
    assert log["version"] == "1.2"
    assert isinstance(log["creator"]["name"], str) and isinstance(log["creator"]["version"], str)
    assert isinstance(log["entries"], list)
    for entry in log["entries"]:
        assert ISO.match(entry["startedDateTime"]), entry["startedDateTime"]
        assert isinstance(entry["time"], (int, float)) and entry["time"] >= 0
        request, response = entry["request"], entry["response"]
        for key, kind in (("method", str), ("url", str), ("httpVersion", str), ("cookies", list),
                          ("headers", list), ("queryString", list), ("headersSize", int), ("bodySize", int)):
            assert isinstance(request[key], kind), key
        for key, kind in (("status", int), ("statusText", str), ("httpVersion", str), ("cookies", list),
                          ("headers", list), ("content", dict), ("redirectURL", str), ("headersSize", int),
                          ("bodySize", int)):
            assert isinstance(response[key], kind), key
        assert isinstance(response["content"]["size"], int) and isinstance(response["content"]["mimeType"], str)
        assert all(set(h) >= {"name", "value"} for h in request["headers"] + response["headers"])
        assert isinstance(entry["cache"], dict)
        timings = entry["timings"]
        assert all(isinstance(timings[k], (int, float)) and timings[k] >= 0 for k in ("send", "wait", "receive"))
        assert all(timings.get(k, -1) >= -1 for k in ("blocked", "dns", "connect", "ssl"))


def wait_ready(api, path, timeout=5.0):
    deadline = time.monotonic() + timeout
    while True:
        response = api.get(path)
        if response.headers["Content-Type"] != "application/json" or response.json().get("status") != "fail":
            return response
        assert time.monotonic() < deadline, response.text
        time.sleep(0.05)


def test_full_har_zip_holds_the_pages_the_driver_visited(remote, pages, api):
    driver = remote(name="har", **{"network": True, "network.full.har": True})
    visited = [pages + "/one", pages + "/two?x=1", pages + "/three"]
    started = time.time()
    for url in visited:
        driver.get(url)
    driver.quit()
    response = wait_ready(api, f"/sessions/{driver.session_id}/log/full-har")
    assert response.status_code == 200 and response.headers["Content-Type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    assert archive.namelist() == ["0-network.har", "1-network.har"]
    documents = [json.loads(archive.read(name)) for name in archive.namelist()]
    for document in documents:
        assert_har_1_2(document)
        assert document["log"]["entries"], "each file holds part of the session"
    entries = [e for d in documents for e in d["log"]["entries"]]
    assert [e["request"]["url"] for e in entries] == visited
    for entry, url in zip(entries, visited):
        assert entry["response"]["status"] == 200
        headers = {h["name"].lower(): h["value"] for h in entry["response"]["headers"]}
        assert headers["x-page"] == url.rsplit("/", 1)[1].split("?")[0]  # the server's own header
        assert "Hello from" in entry["response"]["content"]["text"]  # full HAR: with bodies
        when = datetime.fromisoformat(entry["startedDateTime"].replace("Z", "+00:00")).timestamp()
        assert started - 1 <= when <= time.time()
    assert entries[1]["request"]["queryString"] == [{"name": "x", "value": "1"}]
    network = api.get(f"/sessions/{driver.session_id}/log/network").json()
    assert [item["Value"]["url"] for item in network["data"]] == visited


def test_logs_of_a_session(remote, pages, api, lambdatest_emulator):
    driver = remote(console=True)
    driver.get(pages + "/logged")
    driver.quit()
    commands = wait_ready(api, f"/sessions/{driver.session_id}/log/command").json()
    assert commands["status"] == "success"
    navigate = next(c for c in commands["data"] if c["Value"]["requestPath"].endswith("/url"))
    assert navigate["Value"]["requestMethod"] == "POST" and navigate["Value"]["requestBody"] == {"url": pages + "/logged"}
    assert navigate["Value"]["requestPath"] == f"/wd/hub/session/{driver.session_id}/url"
    assert navigate["logType"] == "command" and navigate["testID"] == lambdatest_emulator.sessions[driver.session_id].test_id
    console = api.get(f"/sessions/{driver.session_id}/log/console").json()
    assert any("loaded logged" in item["Value"] for item in console["data"])
    selenium = api.get(f"/sessions/{driver.session_id}/log/selenium").json()
    assert any(item["Value"].startswith("COMMAND DELETE") for item in selenium["data"])
    # network was not asked for: 200 with "fail", as LambdaTest answers what is not there
    network = api.get(f"/sessions/{driver.session_id}/log/network")
    assert network.status_code == 200 and network.json()["status"] == "fail"
    full = api.get(f"/sessions/{driver.session_id}/log/full-har")
    assert full.status_code == 200 and full.json()["status"] == "fail" and "network.full.har" in full.json()["message"]


@pytest.mark.parametrize("lambdatest_emulator", [{"artifact_delay": 0.6}], indirect=True)
def test_artifacts_appear_after_the_delay(api, lambdatest_emulator):
    session = lambdatest_emulator.add_session({"console": True}, ended=False)
    for path in ("/video", "/log/command", "/log/console"):
        running = api.get(f"/sessions/{session.session_id}{path}")
        assert running.status_code == 200 and running.json()["status"] == "fail", path
    lambdatest_emulator.stop_session(session)
    ended = time.monotonic()
    early = api.get(f"/sessions/{session.session_id}/video")
    assert early.status_code == 200 and early.json()["status"] == "fail" and "not ready" in early.json()["message"]
    assert api.get(f"/sessions/{session.session_id}").json()["data"]["video_url"] == ""
    video = wait_ready(api, f"/sessions/{session.session_id}/video")
    assert time.monotonic() - ended >= 0.5
    assert video.json()["status"] == "success"
    assert api.get(f"/sessions/{session.session_id}/log/command").json()["status"] == "success"


@pytest.mark.parametrize("lambdatest_emulator", [{"signed_link_ttl": 0.5, "artifact_delay": 0}], indirect=True)
def test_signed_video_link_works_without_auth_and_expires(api, lambdatest_emulator):
    session = lambdatest_emulator.add_session({"name": "video"})
    body = api.get(f"/sessions/{session.session_id}/video").json()
    assert body["status"] == "success" and set(body) >= {"message", "url", "view_video_url"}
    url = body["url"]
    assert "Expires=" in url and "Signature=" in url and lambdatest_emulator.access_key not in url
    fetched = requests.get(url, timeout=10)  # no credentials
    assert fetched.status_code == 200 and fetched.headers["Content-Type"] == "video/mp4"
    assert fetched.content[4:8] == b"ftyp" and b"moov" in fetched.content
    page = requests.get(body["view_video_url"], timeout=10)
    assert page.status_code == 200 and "<video" in page.text
    tampered = re.sub(r"Signature=[0-9a-f]+", "Signature=" + "0" * 64, url)
    assert requests.get(tampered, timeout=10).status_code == 403
    later = re.sub(r"Expires=[0-9.]+", "Expires=9999999999.000", url)  # a longer life needs a new signature
    assert requests.get(later, timeout=10).status_code == 403
    time.sleep(0.6)
    expired = requests.get(url, timeout=10)
    assert expired.status_code == 403 and "expired" in expired.text
    assert requests.get(api.get(f"/sessions/{session.session_id}/video").json()["url"], timeout=10).status_code == 200


def test_video_off(api, lambdatest_emulator):
    session = lambdatest_emulator.add_session({"video": False})
    response = api.get(f"/sessions/{session.session_id}/video")
    assert response.status_code == 200 and response.json()["status"] == "fail"


def test_stop_route_closes_the_browser(remote, api, lambdatest_emulator):
    driver = remote(name="stopped")
    response = api.put(f"/sessions/{driver.session_id}/stop")
    assert response.status_code == 200 and response.json()["status"] == "success"
    assert not lambdatest_emulator.sessions[driver.session_id].running
    from selenium.common.exceptions import InvalidSessionIdException

    with pytest.raises(InvalidSessionIdException):
        driver.title  # noqa: B018 - the command is the test
    assert api.put(f"/sessions/{driver.session_id}/stop").status_code == 400

"""A session's evidence: waited for after the session ended, then written whole (video, merged HAR, logs)."""
from __future__ import annotations

import json

import pytest
from fake_lambdatest import ACCESS_KEY, Scripted, har, har_zip

from pytest_devsession.backends.base import BackendError
from pytest_devsession.backends.lambdatest import routes
from pytest_devsession.backends.lambdatest.har import merge_zip


class Driver:
    def __init__(self, session_id: str, caps: dict | None = None) -> None:
        self.session_id = session_id
        self.caps = caps or {}


def zipped() -> bytes:
    """Two HAR files whose entries interleave in time, one of them with a +02:00 offset."""
    return har_zip({
        "0-network.har": har([("2026-01-01T10:00:00.000Z", "https://a.test/1"),
                              ("2026-01-01T10:00:02.000Z", "https://a.test/3")], pages=["page_1"]),
        "1-network.har": har([("2026-01-01T12:00:01.000+02:00", "https://a.test/2"),
                              ("2026-01-01T10:00:03.500Z", "https://a.test/4?token=t0k")], pages=["page_1", "page_2"]),
    })


def test_the_video_is_waited_for_and_fetched_without_our_credentials(make_backend, fake, tmp_path):
    fake.add("s-1", asks_before_ready=2)
    dest = tmp_path / "session.mp4"
    size = make_backend().download("s-1", "mp4", dest)
    assert dest.read_bytes() == fake.sessions["s-1"].video
    assert size == dest.stat().st_size
    assert len(fake.requests("GET", "/sessions/s-1/video")) == 3  # twice "not ready", then the link
    signed = fake.requests("GET", "/signed/")
    assert len(signed) == 1 and "Authorization" not in signed[0][2]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["session.mp4"]  # no .part left


def test_an_expired_video_link_is_asked_for_again_once(make_backend, fake, tmp_path):
    fake.add("s-1")
    fake.signed_refusals = 1
    make_backend().download("s-1", "mp4", tmp_path / "session.mp4")
    assert len(fake.requests("GET", "/sessions/s-1/video")) == 2
    fake.signed_refusals = 2
    with pytest.raises(BackendError) as caught:
        make_backend().download("s-1", "mp4", tmp_path / "again.mp4")
    assert caught.value.status == 403
    assert "X-Signature" not in str(caught.value)  # the signature is never quoted
    assert not (tmp_path / "again.mp4").exists() and not (tmp_path / "again.mp4.part").exists()


def test_an_artifact_never_made_gives_up_at_the_ready_timeout(make_backend, fake, tmp_path):
    fake.add("s-1", asks_before_ready=10_000)
    with pytest.raises(BackendError) as caught:
        make_backend(ready_timeout=0.5).download("s-1", "jsconsole.log", tmp_path / "session.jsconsole.log")
    text = str(caught.value)
    assert "had not made the jsconsole.log of session s-1 within 0.5 s" in text
    assert "Video is being processed" in text  # LambdaTest's last words
    assert list(tmp_path.iterdir()) == []


def test_5xx_and_a_session_not_known_yet_are_waited_out(make_backend, fake, tmp_path):
    fake.add("s-1", console={"data": []})
    fake.script += [Scripted("GET", "/sessions/s-1/log/console", 500, {"message": "Internal Server Error"}),
                    Scripted("GET", "/sessions/s-1/log/console", 400, {"message": "Invalid session", "status": "fail"}),
                    Scripted("GET", "/sessions/s-1/log/console", 404, {"message": "not found", "status": "fail"})]
    assert make_backend().download("s-1", "jsconsole.log", tmp_path / "session.jsconsole.log") == 0


def test_refused_credentials_are_not_waited_out(make_backend, fake, tmp_path):
    fake.add("s-1")
    fake.script.append(Scripted("GET", "/sessions/s-1/video", 401, "HTTP Basic: Access denied."))
    with pytest.raises(BackendError) as caught:
        make_backend().download("s-1", "mp4", tmp_path / "session.mp4")
    assert caught.value.status == 401
    assert len(fake.requests("GET", "/video")) == 1


def test_the_full_har_zip_is_merged_into_one_har(make_backend, fake, tmp_path):
    fake.add("s-1", har_zip=zipped(), asks_before_ready=1)
    dest = tmp_path / "session.har"
    size = make_backend().download("s-1", "har", dest)
    assert size == dest.stat().st_size
    log = json.loads(dest.read_text())["log"]
    assert log["version"] == "1.2" and log["creator"] == {"name": "lt", "version": "1"}
    assert [e["request"]["url"] for e in log["entries"]] == [
        "https://a.test/1", "https://a.test/2", "https://a.test/3", "https://a.test/4?token=[REDACTED]"]
    assert [p["id"] for p in log["pages"]] == ["page_1", "page_2"]
    assert {h["value"] for e in log["entries"] for h in e["request"]["headers"]} == {"[REDACTED]"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["session.har"]


def test_a_raw_har_keeps_its_secrets_but_never_the_access_key(make_backend, fake, tmp_path):
    fake.add("s-1", har_zip=har_zip({"0-network.har": har([("2026-01-01T10:00:00Z", "https://a.test/?k=1")],
                                                          cookie=f"lt={ACCESS_KEY}")}))
    dest = tmp_path / "session.har"
    make_backend(har_raw=True).download("s-1", "har", dest)
    entry = json.loads(dest.read_text())["log"]["entries"][0]
    assert entry["request"]["headers"] == [{"name": "Cookie", "value": "lt=***"}]


def test_no_full_har_is_none(make_backend, fake, tmp_path):
    fake.add("s-1")  # full HAR off: LambdaTest says so with a 200 "fail"
    assert make_backend().download("s-1", "har", tmp_path / "session.har") is None
    assert list(tmp_path.iterdir()) == []


def test_an_artifact_switched_off_in_the_capabilities_is_none_without_a_request(make_backend, fake, tmp_path):
    fake.add("s-1")
    backend = make_backend(section_capabilities={"video": False, "LT:Options": {"network.full.har": "false"}})
    backend.capabilities("lambdatest-x", "t")
    backend.attach("lambdatest-x", Driver("s-1"))
    assert backend.download("s-1", "mp4", tmp_path / "session.mp4") is None
    assert backend.download("s-1", "har", tmp_path / "session.har") is None
    assert fake.requests(contains="/sessions/s-1") == []


def test_an_unknown_sessions_artifact_still_failing_after_the_others_came_is_none(make_backend, fake, tmp_path,
                                                                                   monkeypatch):
    fake.add("s-1")
    fake.absent_message = "Something the plugin does not know"
    monkeypatch.setattr(routes, "ABSENT_GRACE", 0.2)
    backend = make_backend()
    backend.download("s-1", "mp4", tmp_path / "session.mp4")
    assert backend.download("s-1", "har", tmp_path / "session.har") is None


def test_the_logs_are_text_one_line_per_entry(make_backend, fake, tmp_path):
    fake.add("s-1", console={"data": [
        {"logType": "console", "testID": "T", "timestamp": 1767261600000,
         "Value": json.dumps([{"level": "SEVERE", "message": "boom\nat line 2", "timestamp": 1767261600000},
                              {"level": "INFO", "message": "hello", "timestamp": 1767261601000}])}],
        "status": "success"},
        command={"data": [{"logType": "command", "timestamp": "2026-01-01 10:00:00",
                           "Value": {"requestMethod": "POST", "requestPath": "/wd/hub/session/x/url",
                                     "requestBody": {"url": "https://a.test"}, "responseStatus": 200,
                                     "responseBody": {"value": "x" * 2000}, "duration": 35}}]},
        selenium={"data": [{"timestamp": "2026-01-01 10:00:00", "Value": f"caps accessKey={ACCESS_KEY}"}]})
    backend = make_backend()
    for ext in ("jsconsole.log", "command.log", "selenium.log"):
        assert backend.download("s-1", ext, tmp_path / f"session.{ext}") > 0
    assert (tmp_path / "session.jsconsole.log").read_text() == (
        "2026-01-01T10:00:00.000Z SEVERE boom\\nat line 2\n2026-01-01T10:00:01.000Z INFO hello\n")
    command = (tmp_path / "session.command.log").read_text()
    assert command.startswith('2026-01-01 10:00:00 POST /wd/hub/session/x/url -> 200 (35 ms) '
                              'request={"url": "https://a.test"} response={"value": "xxx')
    assert command.count("\n") == 1 and "more characters)" in command
    assert (tmp_path / "session.selenium.log").read_text() == "2026-01-01 10:00:00 caps accessKey=***\n"


def test_har_files_are_merged_in_their_number_order(tmp_path):
    documents = {f"{n}-network.har": har([(f"2026-01-01T10:00:{n:02d}Z", f"https://a.test/{n}")], pages=[f"p{n}"])
                 for n in (10, 9, 0, 2)}
    path = tmp_path / "h.zip"
    path.write_bytes(har_zip(documents))
    log = merge_zip(path)["log"]
    assert [e["request"]["url"] for e in log["entries"]] == [f"https://a.test/{n}" for n in (0, 2, 9, 10)]
    assert len(log["pages"]) == 4


@pytest.mark.parametrize(("body", "words"), [
    (har_zip({"0-network.har": {"log": {"entries": []}}})[:-30], "neither a ZIP nor JSON"),
    (har_zip({"0-network.har": b"{not json"}), "0-network.har is not JSON"),
], ids=["cut-short", "not-json"])
def test_a_broken_full_har_is_a_clear_error(make_backend, fake, tmp_path, body, words):
    fake.add("s-1", har_zip=body)
    with pytest.raises(BackendError, match=words):
        make_backend().download("s-1", "har", tmp_path / "session.har")
    assert list(tmp_path.iterdir()) == []

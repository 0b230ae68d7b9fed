"""The local backend end to end: pytest itself with --devsession and the real parts."""
from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from pytest_devsession.backends.local.store import Store

from local_helpers import entries, video_seconds


def sessions_by_name(manifest: dict) -> dict:
    return {s["nodeid"].split("::")[-1]: s for s in manifest["sessions"]}


def test_requests_through_the_proxy_land_in_their_own_har(pytester, local_run):
    pytester.makepyfile(test_api='''
        import pytest, requests

        @pytest.mark.parametrize("name", ["alpha", "beta", "gamma"])
        def test_call(site, devsession, name):
            assert devsession.proxy_url.startswith("http://127.0.0.1:")
            assert devsession.ca_cert_path.endswith(".pem")
            http = requests.Session()
            http.trust_env = False
            response = http.get(f"{site}/{name}", proxies=devsession.proxies)
            assert response.status_code == 200
        ''')
    result, manifest = local_run()
    result.assert_outcomes(passed=3)
    root = pytester.path / "devsession-artifacts"
    for entry in manifest["sessions"]:
        name = entry["nodeid"].split("[")[1].rstrip("]")
        urls = entries(root / entry["artifacts"]["har"])
        assert [urlsplit(u).path for u in urls] == [f"/{name}"], urls
        assert entry["backend"] == "local" and entry["device_address"] == "local"


def test_browser_video_console_and_har(pytester, local_run, needs_chromium):
    pytester.makepyfile(test_web='''
        import time

        def test_one(site, devsession_chrome, devsession):
            devsession_chrome.get(site + "/first")
            time.sleep(2.0)

        def test_two(site, devsession_chrome):
            devsession_chrome.get(site + "/second")
            time.sleep(1.0)
        ''')
    result, manifest = local_run("--durations=0", "-v")
    result.assert_outcomes(passed=2)
    root = pytester.path / "devsession-artifacts"
    sessions = sessions_by_name(manifest)
    for name, path, seconds in (("test_one", "/first", 2.0), ("test_two", "/second", 1.0)):
        entry = sessions[name]
        assert set(entry["artifacts"]) == {"har", "mp4", "jsconsole.log"}
        urls = entries(root / entry["artifacts"]["har"])
        paths = [urlsplit(u).path for u in urls]
        assert path in paths
        # Nothing of the other test, nothing of Chromium's own background traffic.
        assert not {"/first", "/second"} - {path} & set(paths)
        assert all(urlsplit(u).hostname == "127.0.0.1" for u in urls), urls
        duration = video_seconds(root / entry["artifacts"]["mp4"])
        # The video spans attach to detach: the sleep plus page load and driver calls.
        assert seconds - 0.3 <= duration <= seconds + 1.5, (name, duration)
        console = (root / entry["artifacts"]["jsconsole.log"]).read_text()
        assert f"page {path}" in console


def test_appium_log_is_cut_per_session(pytester, local_run, needs_appium):
    pytester.makepyfile(test_app='''
        import pytest
        from appium import webdriver
        from appium.webdriver.common.appiumby import AppiumBy
        from pytest_devsession.drivers.appium import appium_options, fake_capabilities

        @pytest.mark.parametrize("n", [1, 2])
        def test_app(devsession_appium_url, devsession, n):
            driver = webdriver.Remote(devsession_appium_url, options=appium_options(fake_capabilities()))
            devsession.attach(driver)
            devsession.measure("appium_session", driver.session_id)
            assert driver.find_element(AppiumBy.ID, "username")
            driver.quit()
        ''')
    result, manifest = local_run()
    result.assert_outcomes(passed=2)
    root = pytester.path / "devsession-artifacts"
    ids = {s["nodeid"]: s["measurements"][0]["value"] for s in manifest["sessions"]}
    assert len(set(ids.values())) == 2
    for entry in manifest["sessions"]:
        own = ids[entry["nodeid"]]
        (other,) = set(ids.values()) - {own}
        log = (root / entry["artifacts"]["appium.log"]).read_text()
        assert own in log and "/element" in log
        assert other not in log


def test_user_flow_store_keeps_statuses_and_measurements(pytester, local_run):
    pytester.makepyfile(test_flow='''
        import pytest

        @pytest.mark.userflow("Checkout", description="Pay for the basket")
        def test_pays(devsession):
            devsession.measure("Payment time", 431.5, units="ms", type="Custom Metrics")

        @pytest.mark.userflow("Checkout")
        def test_declined(devsession):
            devsession.measure("Payment time", 9000, units="ms")
            assert False, "card declined"

        @pytest.mark.userflow("Checkout")
        @pytest.mark.xfail(reason="coupon bug")
        def test_coupon():
            assert False
        ''')
    result, manifest = local_run()
    result.assert_outcomes(passed=1, failed=1, xfailed=1)
    store = Store(pytester.path / ".devsession" / "store.sqlite3")
    assert [f["name"] for f in store.userflows()] == ["Checkout"]
    assert store.userflows()[0]["description"] == "Pay for the basket"
    statuses = {s["name"].split("::")[-1]: (s["status"], s["status_message"]) for s in store.sessions("Checkout")}
    assert statuses == {
        "test_pays": ("Passed", None),
        "test_declined": ("Failed", "failed in call: AssertionError: card declined"),
        "test_coupon": ("Excluded", "xfail: coupon bug"),
    }
    values = sorted((m["key_name"], m["value"], m["key_units"], m["status"]) for m in store.measurements("Checkout"))
    assert values == [("Payment time", 431.5, "ms", "Passed"), ("Payment time", 9000, "ms", "Failed")]
    # History across runs: a second run adds to the same flow.
    result, _ = local_run("-k", "pays")
    assert len(store.sessions("Checkout")) == 4
    assert len(store.measurements("Checkout")) == 3


def test_two_xdist_workers_run_their_own_proxy(pytester, local_run):
    pytester.makepyfile(test_par='''
        import os, pytest, requests

        @pytest.mark.parametrize("n", range(6))
        def test_call(site, devsession, n):
            devsession.measure("proxy", devsession.proxy_url)
            devsession.measure("worker", os.environ["PYTEST_XDIST_WORKER"])
            http = requests.Session()
            http.trust_env = False
            assert http.get(f"{site}/call-{n}", proxies=devsession.proxies).ok
        ''')
    result, manifest = local_run("-n", "2")
    result.assert_outcomes(passed=6)
    root = pytester.path / "devsession-artifacts"
    proxies = {}
    for entry in manifest["sessions"]:
        values = {m["key"]: m["value"] for m in entry["measurements"]}
        proxies.setdefault(values["worker"], set()).add(values["proxy"])
        n = entry["nodeid"].split("[")[1].rstrip("]")
        assert [urlsplit(u).path for u in entries(root / entry["artifacts"]["har"])] == [f"/call-{n}"]
    assert len(proxies) == 2
    assert all(len(p) == 1 for p in proxies.values())
    assert proxies["gw0"] != proxies["gw1"]


def test_node_ids_that_sanitize_alike_get_folders_of_their_own_across_workers(pytester, local_run):
    # Eight ids that all sanitize to test_x_a_b, spread over two workers that run them at once.
    ids = ["a b", "a/b", "a:b", "a?b", "a*b", "a|b", "a<b", "a>b"]
    pytester.makepyfile(test_alike=f'''
        import pytest, requests

        @pytest.mark.parametrize("key", {ids!r}, ids={ids!r})
        def test_x(site, devsession, key):
            http = requests.Session()
            http.trust_env = False
            assert http.get(f"{{site}}/own", params={{"which": key}}, proxies=devsession.proxies).ok
        ''')
    result, manifest = local_run("-n", "2")
    result.assert_outcomes(passed=len(ids))
    root = pytester.path / "devsession-artifacts"
    folders = {entry["artifacts"]["har"].split("/")[0] for entry in manifest["sessions"]}
    assert len(folders) == len(ids)
    assert "test_alike.py_test_x_a_b" in folders  # the first to claim it keeps the plain name
    for entry in manifest["sessions"]:
        key = entry["nodeid"].split("[", 1)[1][:-1]
        (url,) = entries(root / entry["artifacts"]["har"])
        assert parse_qs(urlsplit(url).query)["which"] == [key], (entry["nodeid"], url)
    assert not (root / ".devsession-claims").exists()  # the run's claims go with it


def test_a_crashed_worker_is_in_the_manifest_with_its_measurements_and_what_was_lost(pytester, local_run):
    pytester.makepyfile(test_crash='''
        import os, pytest

        def test_crash(devsession):
            devsession.measure("before the crash", 1)
            os._exit(3)

        @pytest.mark.parametrize("n", range(4))
        def test_after(devsession, n):
            pass
        ''')
    result, manifest = local_run("-n", "2")
    result.assert_outcomes(passed=4, failed=1)
    out = "\n".join(result.outlines)
    assert "INTERNALERROR" not in out
    (crashed,) = [e for e in manifest["sessions"] if e["nodeid"] == "test_crash.py::test_crash"]
    assert crashed["status"] == "Failed" and "crashed while running the test" in crashed["status_message"]
    assert crashed["measurements"] == [{"key": "before the crash", "value": 1, "units": None, "type": None}]
    # The embedded capture lived in the worker: what it lost is said, not left out; so is a
    # measurement with no user flow to go to, as for any test.
    assert crashed["problems"] == ["no artifacts: the capture ran inside the worker and ended with it",
                                   "1 measurement(s) not uploaded: the test has no user flow "
                                   "(add @pytest.mark.userflow or --devsession-userflow)"]
    assert "test_crash.py::test_crash: no artifacts: the capture ran inside the worker" in out
    assert len(manifest["sessions"]) == 5
    assert not list((pytester.path / ".devsession" / "leases").glob("*.json"))


def test_local_url_drives_another_server(pytester, local_run, monkeypatch):
    import socket
    import subprocess
    import sys
    import time

    import requests

    def free_port() -> int:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            return s.getsockname()[1]

    api_port, proxy_port = free_port(), free_port()
    token = "local-server-token-5678"
    server = subprocess.Popen([sys.executable, "-m", "pytest_devsession.local", "--port", str(api_port),
                               "--proxy-port", str(proxy_port), "--token", token],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        api = f"http://127.0.0.1:{api_port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                if requests.get(api + "/api/health", timeout=1).ok:
                    break
            except requests.ConnectionError:
                pass
            assert time.monotonic() < deadline, "the standalone capture server did not start"
            time.sleep(0.1)
        monkeypatch.setenv("DEVSESSION_LOCAL_TOKEN", token)
        pytester.makepyfile(test_remote='''
            import requests

            def test_call(site, devsession):
                assert devsession.proxy_url == "http://127.0.0.1:%d"
                http = requests.Session()
                http.trust_env = False
                assert http.get(site + "/remote", proxies=devsession.proxies).ok
            ''' % proxy_port)
        result, manifest = local_run("--devsession-local-url", api,
                                     "--devsession-local-proxy", f"http://127.0.0.1:{proxy_port}")
        result.assert_outcomes(passed=1)
        (entry,) = manifest["sessions"]
        har = pytester.path / "devsession-artifacts" / entry["artifacts"]["har"]
        assert [urlsplit(u).path for u in entries(har)] == ["/remote"]
        listed = requests.get(api + "/api/sessions", headers={"Authorization": f"Bearer {token}"}).json()
        assert listed["sessions"] == []  # the run deletes the sessions it made once their HAR is in
        assert token not in "\n".join(result.outlines + result.errlines)
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_har_secrets_are_redacted_unless_asked_raw(pytester, local_run):
    import json

    pytester.makepyfile(test_secret='''
        import requests

        def test_call(site, devsession):
            http = requests.Session()
            http.trust_env = False
            http.get(f"{site}/me?access_token=tok-123456&page=2", proxies=devsession.proxies,
                     headers={"Authorization": "Bearer user-secret-abcdef", "Cookie": "sid=cookie-secret-42"})
        ''')
    result, manifest = local_run()
    result.assert_outcomes(passed=1)
    har_path = pytester.path / "devsession-artifacts" / manifest["sessions"][0]["artifacts"]["har"]
    (entry,) = json.loads(har_path.read_text())["log"]["entries"]
    # The request as the HAR keeps it (the page itself echoes its URL in its body, which is content).
    request = json.dumps(entry["request"])
    for secret in ("tok-123456", "user-secret-abcdef", "cookie-secret-42"):
        assert secret not in request
    assert urlsplit(entry["request"]["url"]).query == "access_token=[REDACTED]&page=2"
    headers = {h["name"].lower(): h["value"] for h in entry["request"]["headers"]}
    assert headers["authorization"] == headers["cookie"] == "[REDACTED]"

    result, manifest = local_run("--devsession-har-raw")
    har_path = pytester.path / "devsession-artifacts" / manifest["sessions"][0]["artifacts"]["har"]
    text = har_path.read_text()
    assert all(s in text for s in ("tok-123456", "user-secret-abcdef", "cookie-secret-42"))


def test_video_ends_on_the_screen_at_the_end_of_the_call(pytester, local_run, needs_chromium):
    from local_helpers import video_frames

    pytester.makepyfile(test_end='''
        import pytest

        @pytest.fixture
        def browser(devsession_chrome):
            yield devsession_chrome
            # A fixture's teardown runs after the call: nothing of it is in the video.
            devsession_chrome.execute_script("document.body.style.background = 'rgb(0, 255, 0)'")

        def test_paint(site, browser):
            browser.get(site + "/painted")
            browser.execute_script("document.body.innerHTML = ''; document.body.style.background = 'rgb(255, 0, 0)'")
        ''')
    result, manifest = local_run("--devsession-video-size", "640x360")
    result.assert_outcomes(passed=1)
    (entry,) = manifest["sessions"]
    assert entry["problems"] == []
    frames = video_frames(pytester.path / "devsession-artifacts" / entry["artifacts"]["mp4"], 640, 360)
    assert entry["artifact_details"]["mp4"]["frames"] == len(frames) >= 1
    assert frames[0][:3] == b"\xff\xff\xff" or min(frames[0]) > 240  # the blank page, never the New Tab page
    middle = len(frames[-1]) // 2 // 3 * 3
    r, g, b = frames[-1][middle:middle + 3]
    assert r > 200 and g < 60 and b < 60, (r, g, b)
    assert entry["artifact_details"]["har"]["har_entries"] >= 1  # the page (and its favicon)


def test_a_video_that_cannot_be_made_is_a_problem_with_its_reason(pytester, local_run):
    pytester.makepyfile(test_broken='''
        import socket

        class BrokenChromium:
            """A driver whose DevTools endpoint is gone (the browser crashed before attach)."""
            current_url = "about:blank"
            current_window_handle = "none"

            def __init__(self):
                with socket.socket() as s:
                    s.bind(("127.0.0.1", 0))
                    port = s.getsockname()[1]
                self.capabilities = {"goog:chromeOptions": {"debuggerAddress": f"127.0.0.1:{port}"}}

            def get(self, url):
                pass

        def test_with_a_browser(devsession):
            devsession.attach(BrokenChromium())
        ''')
    result, manifest = local_run("-W", "error")
    result.assert_outcomes(passed=1)  # a failure of ours never changes the test's outcome
    (entry,) = manifest["sessions"]
    assert "mp4" not in entry["artifacts"]
    problem = [p for p in entry["problems"] if "download mp4" in p or "video" in p]
    assert problem and "cannot record the browser" in problem[0], entry["problems"]
    result.stdout.fnmatch_lines(["problems: 2", "*test_with_a_browser*cannot record the browser*"])


def test_a_har_without_entries_is_a_problem_when_the_test_used_the_proxy(pytester, local_run):
    pytester.makepyfile(test_around='''
        import requests

        def test_goes_around_the_capture(site, devsession):
            http = requests.Session()
            http.trust_env = False
            assert devsession.proxies  # asked for the capture...
            assert http.get(site + "/direct").status_code == 200  # ...but did not use it

        def test_quiet(devsession):
            pass  # sent nothing: an empty HAR is right
        ''')
    result, manifest = local_run()
    result.assert_outcomes(passed=2)
    sessions = sessions_by_name(manifest)
    around, quiet = sessions["test_goes_around_the_capture"], sessions["test_quiet"]
    assert around["artifact_details"]["har"] == {"har_entries": 0}
    assert any("session.har holds no entries" in p for p in around["problems"]), around["problems"]
    assert quiet["artifact_details"]["har"] == {"har_entries": 0} and quiet["problems"] == []
    result.stdout.fnmatch_lines(["problems: 1"])

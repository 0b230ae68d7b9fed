import base64
import warnings

import pytest
import requests

pytestmark = pytest.mark.filterwarnings("ignore:Embedding username and password in URL:UserWarning")


def test_selenium_remote_drives_a_real_browser(remote, pages, lambdatest_emulator):
    driver = remote(build="build-1", name="first test", video=True, network=True, console=True, resolution="x",
                    tunnel=False)
    driver.get(pages + "/alpha")
    assert driver.title == "Page alpha"
    assert driver.current_url == pages + "/alpha"
    assert driver.find_element("css selector", "#text").text == "Hello from alpha"
    assert driver.find_element("id", "text").tag_name == "p"
    assert driver.execute_script("return [1 + 2, 'x', true, null]") == [3, "x", True, None]
    png = driver.get_screenshot_as_png()
    assert png.startswith(b"\x89PNG")
    driver.set_window_size(800, 600)
    assert driver.get_window_size() == {"width": 800, "height": 600}

    session = lambdatest_emulator.sessions[driver.session_id]  # driver.session_id is the API's id
    assert session.name == "first test" and session.build == "build-1"
    assert session.options["resolution"] == "x" and session.options["tunnel"] is False  # the rest kept as is
    assert session.running and session.status_ind == "running"
    assert session.requests == [("GET", pages + "/alpha", 200)]
    assert [c.path for c in session.commands][:3] == ["/session", "/url", "/title"]
    driver.quit()
    assert not session.running and session.status_ind == "completed"
    assert any("loaded alpha" in message["message"] for message in session.console)


def test_lambda_status_sets_status_ind(remote, lambdatest_emulator):
    driver = remote(name="status")
    assert driver.execute_script("lambda-status=failed") is None
    assert lambdatest_emulator.sessions[driver.session_id].status_ind == "failed"
    driver.execute_script("lambda-name=renamed")
    driver.execute_script('lambda-hook: {"action": "setTestStatus", "arguments": {"status": "passed", "remark": "ok"}}')
    session = lambdatest_emulator.sessions[driver.session_id]
    assert (session.name, session.status_ind, session.reason) == ("renamed", "passed", "ok")
    from selenium.common.exceptions import WebDriverException

    with pytest.raises(WebDriverException, match="lambda-status takes one of"):
        driver.execute_script("lambda-status=great")
    driver.quit()
    assert session.status_ind == "passed"  # a status set stays after quit


def test_hub_refuses_wrong_credentials(lambdatest_emulator):
    from selenium import webdriver
    from selenium.common.exceptions import WebDriverException

    wrong = lambdatest_emulator.hub_url.replace("://", f"://{lambdatest_emulator.username}:nope@", 1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        with pytest.raises(WebDriverException, match="Authorization"):  # Selenium words a 401 itself
            webdriver.Remote(command_executor=wrong, options=webdriver.ChromeOptions())
    assert lambdatest_emulator.sessions == {}
    body = {"capabilities": {"alwaysMatch": {"browserName": "chrome"}}}
    bare = requests.post(lambdatest_emulator.hub_url + "/session", json=body, timeout=10)
    assert bare.status_code == 401 and bare.json()["value"]["error"] == "unauthorized"
    logged = lambdatest_emulator.requests
    assert logged[-1].path == "/wd/hub/session" and logged[-1].status == 401 and logged[-1].authorized is False


def test_credentials_in_lt_options(lambdatest_emulator, pages):
    """LambdaTest also takes user/accessKey in LT:Options; the session's commands then need no header."""
    hub = lambdatest_emulator.hub_url
    options = {"user": lambdatest_emulator.username, "accessKey": lambdatest_emulator.access_key}
    body = {"capabilities": {"alwaysMatch": {"browserName": "chrome", "LT:Options": options}}}
    created = requests.post(hub + "/session", json=body, timeout=30)
    assert created.status_code == 200, created.text
    session_id = created.json()["value"]["sessionId"]
    try:
        assert requests.post(f"{hub}/session/{session_id}/url", json={"url": pages + "/x"}, timeout=30).ok
        assert requests.get(f"{hub}/session/{session_id}/title", timeout=10).json() == {"value": "Page x"}
    finally:
        assert requests.delete(f"{hub}/session/{session_id}", timeout=30).status_code == 200
    options["accessKey"] = "wrong"
    assert requests.post(hub + "/session", json=body, timeout=30).status_code == 401


def test_unknown_or_ended_session_is_invalid(lambdatest_emulator):
    auth = (lambdatest_emulator.username, lambdatest_emulator.access_key)
    response = requests.get(lambdatest_emulator.hub_url + "/session/nope/title", auth=auth, timeout=10)
    assert response.status_code == 404 and response.json()["value"]["error"] == "invalid session id"
    ended = lambdatest_emulator.add_session({"name": "done"})
    response = requests.get(f"{lambdatest_emulator.hub_url}/session/{ended.session_id}/url", auth=auth, timeout=10)
    assert response.status_code == 404


def test_only_chromium(lambdatest_emulator):
    auth = (lambdatest_emulator.username, lambdatest_emulator.access_key)
    body = {"capabilities": {"alwaysMatch": {"browserName": "firefox"}}}
    response = requests.post(lambdatest_emulator.hub_url + "/session", json=body, auth=auth, timeout=10)
    assert response.status_code == 500 and response.json()["value"]["error"] == "session not created"
    assert lambdatest_emulator.sessions == {}


def test_credentials_never_logged(lambdatest_emulator):
    auth = base64.b64encode(f"{lambdatest_emulator.username}:{lambdatest_emulator.access_key}".encode()).decode()
    requests.get(lambdatest_emulator.hub_url + "/status", headers={"Authorization": f"Basic {auth}"}, timeout=10)
    assert all(lambdatest_emulator.access_key not in str(r) for r in lambdatest_emulator.requests)


def test_access_key_in_capabilities_never_reaches_the_command_log(lambdatest_emulator, api):
    options = {"user": lambdatest_emulator.username, "accessKey": lambdatest_emulator.access_key, "name": "k"}
    body = {"capabilities": {"alwaysMatch": {"browserName": "chrome", "LT:Options": options}}}
    created = requests.post(lambdatest_emulator.hub_url + "/session", json=body, timeout=30)
    session_id = created.json()["value"]["sessionId"]
    assert requests.delete(f"{lambdatest_emulator.hub_url}/session/{session_id}", timeout=30).ok
    import time

    time.sleep(lambdatest_emulator.artifact_delay)
    log = api.get(f"/sessions/{session_id}/log/command")
    assert log.json()["status"] == "success"
    assert lambdatest_emulator.access_key not in log.text and '"accessKey": "***"' in log.text

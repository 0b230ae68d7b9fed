import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import requests

import pytest_devsession

ROOT = str(Path(pytest_devsession.__file__).resolve().parent.parent)
EMULATOR = [sys.executable, "-m", "pytest_devsession.emulator"]

CHILD = """
import json, os, sys, urllib.request
request = urllib.request.Request(os.environ["HEADSPIN_API_URL"] + "/devices",
                                 headers={"Authorization": "Bearer " + os.environ["HEADSPIN_API_TOKEN"]})
devices = json.load(urllib.request.urlopen(request, timeout=5))["devices"]
print(json.dumps({
    "devices": [d["device_address"] for d in devices],
    "env_devices": os.environ["DEVSESSION_DEVICES"].split("\\n"),
    "backend": os.environ["DEVSESSION_BACKEND"],
    "token": os.environ["HEADSPIN_API_TOKEN"],
    "ui_url": os.environ.get("HEADSPIN_UI_URL"),
}))
sys.exit(int(sys.argv[1]))
"""


def _env():
    env = dict(os.environ, HEADSPIN_UI_URL="https://ui.example.com")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [ROOT, env.get("PYTHONPATH")]))
    return env


def test_runner_passes_env_and_exit_code():
    run = subprocess.run(
        EMULATOR + ["--token", "tok3n", "--device", "x1@lab", "--device", "i1@lab:ios",
                    "--", sys.executable, "-c", CHILD, "7"],
        capture_output=True, text=True, env=_env(), timeout=30,
    )
    assert run.returncode == 7, run.stderr
    seen = json.loads(run.stdout)
    # Session links of a run against the emulator lead to the emulator, never to the real HeadSpin UI.
    ui_url = seen.pop("ui_url")
    assert ui_url.startswith("http://127.0.0.1:") and not ui_url.endswith("/v0")
    assert seen == {"devices": ["x1@lab", "i1@lab"], "env_devices": ["x1@lab", "i1@lab"],
                    "backend": "headspin", "token": "tok3n"}


def test_runner_defaults_and_random_token():
    run = subprocess.run(EMULATOR + ["--", sys.executable, "-c", CHILD, "0"],
                         capture_output=True, text=True, env=_env(), timeout=30)
    assert run.returncode == 0, run.stderr
    seen = json.loads(run.stdout)
    assert seen["env_devices"] == ["emu-android-1@emulator.local", "emu-android-2@emulator.local",
                                   "emu-ios-1@emulator.local"]
    assert len(seen["token"]) == 32 and seen["token"] not in run.stderr


def test_runner_command_not_found():
    run = subprocess.run(EMULATOR + ["--", "no-such-command-here"], capture_output=True, text=True,
                         env=_env(), timeout=30)
    assert run.returncode == 127


def test_serve_prints_url_not_token(tmp_path):
    token_file = tmp_path / "token"
    process = subprocess.Popen(EMULATOR + ["--token-file", str(token_file)], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, env=_env())
    try:
        line = process.stdout.readline()
        token = token_file.read_text().strip()
        assert "HEADSPIN_API_URL" in line and "HEADSPIN_API_TOKEN" in line and token not in line
        url = line.split("HEADSPIN_API_URL=")[1].split()[0]
        response = requests.get(url + "/devices", headers={"Authorization": f"Bearer {token}"}, timeout=5)
        assert response.status_code == 200
        assert oct(token_file.stat().st_mode & 0o777) == "0o600"
    finally:
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=10) == 0
        process.stdout.close()
        process.stderr.close()


def test_bad_device_is_a_usage_error():
    run = subprocess.run(EMULATOR + ["--device", "no-at-sign"], capture_output=True, text=True,
                         env=_env(), timeout=30)
    assert run.returncode == 2 and "no-at-sign" in run.stderr


def test_session_links_open_the_emulators_own_page(headspin_emulator):
    from pytest_devsession.backends.headspin import routes

    auth = {"Authorization": f"Bearer {headspin_emulator.token}"}
    assert requests.post(headspin_emulator.url + "/adb/emu-android-1/lock", headers=auth, timeout=5).ok
    created = requests.post(headspin_emulator.url + "/sessions", timeout=5, headers=auth,
                            json={"session_type": "capture", "device_address": "emu-android-1@emulator.local",
                                  "nowait": True}).json()
    link = routes.ui_session(headspin_emulator.ui_url, created["session_id"])
    page = requests.get(link, timeout=5)  # a browser opening the link from a report: no token
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    assert created["session_id"] in page.text and "emu-android-1@emulator.local" in page.text
    assert requests.get(routes.ui_session(headspin_emulator.ui_url, "nope"), timeout=5).status_code == 404


SETTINGS_CHILD = """
import base64, json, os, time, urllib.error, urllib.request
url, token = os.environ["HEADSPIN_API_URL"], os.environ["HEADSPIN_API_TOKEN"]

def call(method, path, body=None, auth="Bearer " + token):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url + path, data=data, method=method, headers={"Authorization": auth})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)

devices = call("GET", "/devices")[1]["devices"]
udid = devices[0]["device_id"]
lock = call("POST", "/idevice/%s/lock" % udid)[1]
create = {"session_type": "capture", "device_address": devices[0]["device_address"], "nowait": True}
session_id = call("POST", "/sessions", create)[1]["session_id"]
call("PATCH", "/sessions/" + session_id, {"active": False, "nowait": True})
while "capture-complete" not in call("GET", "/sessions/%s/timestamps" % session_id)[1]:
    time.sleep(0.01)
print(json.dumps({
    "metadata": call("GET", "/sessions/%s/video/metadata" % session_id)[0],
    "devices": [(d["device_address"], d["serial"], d["device_type"]) for d in devices],
    "lock": lock,
    "again": call("POST", "/sessions", create),
    "basic": call("GET", "/devices", auth="Basic " + base64.b64encode((token + ":").encode()).decode())[0],
}))
"""


def test_runner_settings_and_device_kinds():
    udid = "00008030-000559D902F0C02E"
    run = subprocess.run(
        EMULATOR + ["--cooldown", "30", "--video-metadata-delay", "5", "--no-basic-auth",
                    "--device", f"{udid}@lab:ios:F2LX", "--device", "r1@lab:roku",
                    "--", sys.executable, "-c", SETTINGS_CHILD],
        capture_output=True, text=True, env=_env(), timeout=30,
    )
    assert run.returncode == 0, run.stderr
    seen = json.loads(run.stdout)
    assert seen["devices"] == [[f"{udid}@lab", "F2LX", "ios"], ["r1@lab", "r1", "roku"]]
    assert seen["lock"] == {"status": 0, "message": f"{udid}@lab locked."}
    assert seen["again"] == [500, {"status": "Error starting session.", "status_code": 500}]
    assert seen["basic"] == 401
    assert seen["metadata"] == 404  # complete, but within the video metadata delay


def test_negative_cooldown_is_a_usage_error():
    run = subprocess.run(EMULATOR + ["--cooldown", "-1"], capture_output=True, text=True, env=_env(), timeout=30)
    assert run.returncode == 2 and "cooldown" in run.stderr

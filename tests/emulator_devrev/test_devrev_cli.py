import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import requests

import pytest_devsession

ROOT = str(Path(pytest_devsession.__file__).resolve().parent.parent)
EMULATOR = [sys.executable, "-m", "pytest_devsession.emulator", "--service", "devrev"]

# Uploads a session as the SDK would, then lists it through the API with the environment's settings.
CHILD = """
import json, os, sys, urllib.request
env = {name: os.environ[name] for name in ("DEVREV_API_URL", "DEVREV_TOKEN", "DEVREV_APP_ID")}
def post(path, body, headers):
    request = urllib.request.Request(env["DEVREV_API_URL"] + path, json.dumps(body).encode(),
                                     {"Content-Type": "application/json", **headers})
    return json.load(urllib.request.urlopen(request, timeout=10))
uploaded = post("/_emulator/sessions.upload", {"version_key": env["DEVREV_APP_ID"], "upload_delay": 0}, {})
listed = post("/observability.sessions.list", {"version_key": env["DEVREV_APP_ID"]},
              {"Authorization": "Bearer " + env["DEVREV_TOKEN"], "X-Devrev-Scope": "beta"})
print(json.dumps({"env": env, "uploaded": uploaded["session_id"], "listed": [s["session_id"] for s in listed["sessions"]]}))
sys.exit(int(sys.argv[1]))
"""


def _env():
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEVREV_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [ROOT, env.get("PYTHONPATH")]))
    return env


def test_runner_sets_the_env_and_passes_the_exit_code():
    run = subprocess.run(EMULATOR + ["--token", "t0ken", "--app-id", "my-app", "--", sys.executable, "-c", CHILD, "3"],
                         capture_output=True, text=True, env=_env(), timeout=60, check=False)
    assert run.returncode == 3, run.stderr
    seen = json.loads(run.stdout)
    assert seen["env"]["DEVREV_TOKEN"] == "t0ken" and seen["env"]["DEVREV_APP_ID"] == "my-app"
    assert seen["env"]["DEVREV_API_URL"].startswith("http://127.0.0.1:")
    assert seen["listed"] == [seen["uploaded"]]


def test_serve_prints_the_url_not_the_token(tmp_path):
    token_file = tmp_path / "token"
    process = subprocess.Popen(EMULATOR + ["--token-file", str(token_file)], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, env=_env())
    try:
        line = process.stdout.readline()
        token = token_file.read_text().strip()
        assert "DEVREV_API_URL=" in line and "DEVREV_APP_ID=emulator-app" in line and token not in line
        url = line.split("DEVREV_API_URL=")[1].split()[0]
        headers = {"X-Devrev-Scope": "beta", "Authorization": f"Bearer {token}"}
        body = {"version_key": "emulator-app"}
        assert requests.post(url + "/observability.sessions.list", json=body, headers=headers, timeout=10).ok
        headers["Authorization"] = "Bearer nope"
        assert requests.post(url + "/observability.sessions.list", json=body, headers=headers,
                             timeout=10).status_code == 401
        assert oct(token_file.stat().st_mode & 0o777) == "0o600"
    finally:
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=15) == 0
        process.stdout.close()
        process.stderr.close()


def test_bad_setting_is_a_usage_error():
    run = subprocess.run(EMULATOR + ["--upload-delay", "-1"], capture_output=True, text=True, env=_env(),
                         check=False, timeout=30)
    assert run.returncode == 2 and "upload_delay" in run.stderr

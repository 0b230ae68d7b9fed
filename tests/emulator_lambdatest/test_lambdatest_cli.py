import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import requests

import pytest_devsession

ROOT = str(Path(pytest_devsession.__file__).resolve().parent.parent)
EMULATOR = [sys.executable, "-m", "pytest_devsession.emulator", "--service", "lambdatest"]

# Drives a browser through the hub, then reads the session back from the API.
CHILD = """
import base64, json, os, sys, urllib.request, warnings
from selenium import webdriver
env = {name: os.environ[name] for name in ("LT_USERNAME", "LT_ACCESS_KEY", "LT_HUB_URL", "LT_API_URL")}
hub = env["LT_HUB_URL"].replace("://", "://%s:%s@" % (env["LT_USERNAME"], env["LT_ACCESS_KEY"]), 1)
options = webdriver.ChromeOptions()
options.set_capability("LT:Options", {"build": "cli", "name": "from the command"})
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    driver = webdriver.Remote(command_executor=hub, options=options)
    driver.get("data:text/html,<title>cli page</title>")
    title = driver.title
    driver.quit()
auth = base64.b64encode(("%s:%s" % (env["LT_USERNAME"], env["LT_ACCESS_KEY"])).encode()).decode()
request = urllib.request.Request(env["LT_API_URL"] + "/sessions/" + driver.session_id,
                                 headers={"Authorization": "Basic " + auth})
data = json.load(urllib.request.urlopen(request, timeout=10))["data"]
print(json.dumps({"env": env, "title": title, "name": data["name"], "build": data["build_name"]}))
sys.exit(int(sys.argv[1]))
"""


def _env():
    env = {k: v for k, v in os.environ.items() if not k.startswith("LT_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [ROOT, env.get("PYTHONPATH")]))
    return env


def test_runner_sets_the_env_and_passes_the_exit_code():
    run = subprocess.run(EMULATOR + ["--username", "alice", "--access-key", "k3y", "--", sys.executable, "-c",
                                     CHILD, "3"], capture_output=True, text=True, env=_env(), timeout=60, check=False)
    assert run.returncode == 3, run.stderr
    seen = json.loads(run.stdout)
    env = seen.pop("env")
    assert env["LT_USERNAME"] == "alice" and env["LT_ACCESS_KEY"] == "k3y"
    assert env["LT_HUB_URL"].startswith("http://127.0.0.1:") and env["LT_HUB_URL"].endswith("/wd/hub")
    assert "@" not in env["LT_HUB_URL"]
    assert env["LT_API_URL"] == env["LT_HUB_URL"].removesuffix("/wd/hub") + "/automation/api/v1"
    assert seen == {"title": "cli page", "name": "from the command", "build": "cli"}


def test_serve_prints_urls_not_the_key(tmp_path):
    key_file = tmp_path / "key"
    process = subprocess.Popen(EMULATOR + ["--access-key-file", str(key_file)], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, env=_env())
    try:
        line = process.stdout.readline()
        key = key_file.read_text().strip()
        assert "LT_HUB_URL=" in line and "LT_API_URL=" in line and key not in line
        api = line.split("LT_API_URL=")[1].split()[0]
        assert requests.get(api + "/sessions", auth=("emulator-user", key), timeout=10).status_code == 200
        assert requests.get(api + "/sessions", auth=("emulator-user", "nope"), timeout=10).status_code == 401
        assert oct(key_file.stat().st_mode & 0o777) == "0o600"
    finally:
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=15) == 0
        process.stdout.close()
        process.stderr.close()


def test_bad_setting_is_a_usage_error():
    run = subprocess.run(EMULATOR + ["--artifact-delay", "-1"], capture_output=True, text=True, env=_env(), check=False,
                         timeout=30)
    assert run.returncode == 2 and "artifact_delay" in run.stderr

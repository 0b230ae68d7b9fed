"""The lambdatest backend's settings: credentials from the environment only, its URLs and capabilities,
each refused with a message that names the setting and never shows the key."""
from __future__ import annotations

import pytest
from fake_lambdatest import ACCESS_KEY, USERNAME

TEST = "def test_one():\n    pass\n"


@pytest.fixture
def run(pytester: pytest.Pytester, monkeypatch, fake):
    monkeypatch.setenv("LT_USERNAME", USERNAME)
    monkeypatch.setenv("LT_ACCESS_KEY", ACCESS_KEY)
    monkeypatch.setenv("LT_API_URL", fake.api_url)
    monkeypatch.setenv("LT_HUB_URL", fake.url + "/wd/hub")
    for name in ("DEVSESSION_BACKEND", "DEVSESSION_DEVICES", "DEVSESSION_LAMBDATEST_CAPABILITIES", "LT_MOBILE_API_URL"):
        monkeypatch.delenv(name, raising=False)
    pytester.makepyfile(test_one=TEST)

    def run(*args: str) -> tuple[pytest.RunResult, str]:
        result = pytester.runpytest("--devsession", "--devsession-backend", "lambdatest", "-p", "no:cacheprovider",
                                    *args)
        output = "\n".join(result.outlines + result.errlines)
        assert ACCESS_KEY not in output
        return result, output

    return run


@pytest.mark.parametrize("missing", [["LT_USERNAME"], ["LT_ACCESS_KEY"], ["LT_USERNAME", "LT_ACCESS_KEY"]])
def test_the_credentials_come_from_the_environment_only(run, monkeypatch, missing):
    for name in missing:
        monkeypatch.delenv(name)
    result, output = run()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert f"the lambdatest backend needs {' and '.join(missing)} in the environment" in output
    assert "never taken from the command line or an ini file" in output


def test_refused_credentials_are_one_usage_error(run, monkeypatch):
    monkeypatch.setenv("LT_ACCESS_KEY", "wrong-key")
    result, output = run()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "LambdaTest refused the credentials in LT_USERNAME and LT_ACCESS_KEY: HTTP Basic: Access denied." in output
    assert "wrong-key" not in output


def test_credentials_in_the_hub_url_are_refused_without_showing_them(run, monkeypatch):
    monkeypatch.setenv("LT_HUB_URL", f"https://{USERNAME}:{ACCESS_KEY}@hub.lambdatest.com/wd/hub")
    result, output = run()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "LT_HUB_URL: the URL holds credentials" in output


@pytest.mark.parametrize(("value", "words"), [
    ("{not json", "expected a JSON object of capabilities"),
    ("[1, 2]", "expected a JSON object of capabilities, got list"),
    ('{"LT:Options": {"accessKey": "x"}}', "credentials (accessKey) are not taken from the capabilities"),
    ('{"user": "me"}', "credentials (user) are not taken from the capabilities"),
])
def test_capabilities_are_a_json_object_without_credentials(run, value, words):
    result, output = run("--devsession-lambdatest-capabilities", value)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert f"--devsession-lambdatest-capabilities: {words}" in output


def test_capabilities_from_the_ini(run, pytester):
    pytester.makeini('[pytest]\ndevsession_lambdatest_capabilities = {"browserVersion": "latest",\n'
                     '    "platformName": "Windows 11"}\n')
    result, _ = run("--devsession-download", "off")
    result.assert_outcomes(passed=1)


def test_its_one_device_is_lambdatest(run):
    result, output = run("--devsession-device", "chrome")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "the lambdatest backend has one device, 'lambdatest'" in output


def test_a_bad_api_url_is_named(run, monkeypatch):
    monkeypatch.setenv("LT_API_URL", "ftp://api.lambdatest.com")
    result, output = run()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "LT_API_URL: got 'ftp://api.lambdatest.com'; expected an http:// or https:// URL" in output

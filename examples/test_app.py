"""A mobile app test on Appium's fake driver: the server log of this session becomes appium.log."""
import time

import pytest

pytest.importorskip("appium", reason="pip install Appium-Python-Client (the [appium] extra)")

from appium import webdriver  # noqa: E402
from appium.webdriver.common.appiumby import AppiumBy  # noqa: E402

from pytest_devsession.drivers.appium import appium_options, fake_capabilities  # noqa: E402


@pytest.fixture
def app_driver(devsession_appium_url, devsession):
    driver = webdriver.Remote(devsession_appium_url, options=appium_options(fake_capabilities()))
    devsession.attach(driver)
    yield driver
    driver.quit()


@pytest.mark.userflow("Example mobile login")
def test_login_screen_has_its_fields(app_driver, devsession):
    started = time.perf_counter()
    username = app_driver.find_element(AppiumBy.ID, "username")
    devsession.measure("Find username field", round((time.perf_counter() - started) * 1000, 1), units="ms")
    assert username.is_displayed()
    assert app_driver.find_element(AppiumBy.ID, "login")

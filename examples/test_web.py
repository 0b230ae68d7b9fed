"""Browser tests: real headless Chromium through the capture, with video and console log."""
import pytest

pytest.importorskip("selenium", reason="pip install selenium (the [local] extra)")

from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support import expected_conditions as EC  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

NAVIGATION_TIMING = """
const nav = performance.getEntriesByType("navigation")[0];
return {ttfb: nav.responseStart - nav.startTime,
        dom: nav.domContentLoadedEventEnd - nav.startTime,
        load: nav.loadEventEnd - nav.startTime};
"""


@pytest.mark.userflow("Example login page", description="Sign in through the web page")
def test_sign_in_from_the_page(app, devsession_chrome, devsession):
    """The page posts to the JSON API and greets the user."""
    driver = devsession_chrome
    driver.get(f"{app.url}/login")
    timing = driver.execute_script(NAVIGATION_TIMING)
    devsession.measure("Time to first byte", round(timing["ttfb"], 1), units="ms", type="Navigation Timing")
    devsession.measure("DOM content loaded", round(timing["dom"], 1), units="ms", type="Navigation Timing")
    devsession.measure("Page load", round(timing["load"], 1), units="ms", type="Navigation Timing")

    driver.find_element(By.ID, "user").send_keys("ada")
    driver.find_element(By.ID, "password").send_keys("lovelace")
    driver.find_element(By.ID, "submit").click()
    WebDriverWait(driver, 10).until(EC.text_to_be_present_in_element((By.ID, "status"), "welcome ada"))
    devsession.measure("Login round trip", round(driver.execute_script("return window.loginMillis"), 1), units="ms")


@pytest.mark.userflow("Example login page")
def test_wrong_password_is_shown(app, devsession_chrome):
    driver = devsession_chrome
    driver.get(f"{app.url}/login")
    driver.find_element(By.ID, "user").send_keys("ada")
    driver.find_element(By.ID, "password").send_keys("babbage")
    driver.find_element(By.ID, "submit").click()
    WebDriverWait(driver, 10).until(EC.text_to_be_present_in_element((By.ID, "status"), "wrong password"))

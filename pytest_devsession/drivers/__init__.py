"""What drives a device or a browser, usable by any backend: headless Chromium through a proxy (``browser``)
and its DevTools screencast video (``video``), an Appium server and its logs (``appium``), an Android
device over adb (``android``)."""

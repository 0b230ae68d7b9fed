"""Local backend: Chromium, Appium and capture running on this machine."""

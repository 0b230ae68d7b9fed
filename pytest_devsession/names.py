"""The few names every pytest start needs for the options' help, without the settings machinery
(``settings.py`` is imported only when ``--devsession`` is on: a run without it stays cheap)."""

DOWNLOAD_MODES = ("on", "off", "only-on-failure")
CAPTURE_MODES = ("all", "marked")
# HeadSpin's Session API: the extensions a session's data can be downloaded as.
ARTIFACT_EXTENSIONS = (
    "mp4", "har", "mar", "csv", "pcap", "sslkeylog.txt",
    "appium.log", "appium.log.gz", "selenium.log", "selenium.log.gz",
    "device.log", "device.log.gz", "jsconsole.log", "jsconsole.log.gz",
)
DEFAULT_ARTIFACTS = ("har", "mp4")
# What one capture session is opened around: each test, or every test of a class, a module, the run.
SCOPES = ("test", "class", "module", "session")
DEFAULT_VIDEO_SIZE = (1280, 720)  # Chromium's page and its video's frame (drivers.browser, drivers.video)

"""The local backend: captures on this machine through a capture server (the embedded one, or one given by
``--devsession-local-url``: ``external``), a browser's or a phone's video and logs from ``drivers``, user
flows in a SQLite ``store``; tests sharing one capture-server session (``parts``); its options and settings
section (``plugin``, ``settings``)."""

# What the local backend captures (its settings section; here for the options' help at every start).
LOCAL_ARTIFACTS = ("har", "mp4", "jsconsole.log", "appium.log", "device.log")

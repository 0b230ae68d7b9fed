"""Where a session's record shows up (JUnit XML, pytest-html, Allure, the terminal, manifest.json), and the HAR redaction every artifact passes."""

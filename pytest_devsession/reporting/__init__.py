"""Where a session's record shows up: JUnit XML, pytest-html, the terminal, manifest.json."""

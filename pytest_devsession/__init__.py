"""pytest-devsession: every test inside a capture session on a real device or browser."""

__version__ = "0.1.0"

ENTRY_POINT = "devsession"  # the plugin's name in the pytest11 entry point (pyproject.toml)


def pytest_addhooks(pluginmanager) -> None:
    # `-p pytest_devsession` (locked-down CI: PYTEST_DISABLE_PLUGIN_AUTOLOAD=1) registers this
    # package: it loads the plugin under its entry point's name, so that autoloading, when on,
    # finds it there and does not register it a second time. Imported here, not above, so
    # that `import pytest_devsession` stays cheap.
    from . import plugin

    if not pluginmanager.is_registered(plugin) and not pluginmanager.is_blocked(ENTRY_POINT):
        pluginmanager.register(plugin, ENTRY_POINT)

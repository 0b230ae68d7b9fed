"""The DevRev emulator's fixtures, ``devrev_emulator`` and ``devrev_emulator_server``: they come with the
package's ``devsession_emulator`` plugin (``emulator/fixture.py``), loaded by every pytest; this module only
names them (do not register it as a plugin of its own).
"""
from ..fixture import DEVREV_SETTINGS as SETTINGS  # noqa: F401
from ..fixture import devrev_emulator, devrev_emulator_server  # noqa: F401

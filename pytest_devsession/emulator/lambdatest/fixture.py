"""The LambdaTest emulator's fixtures, ``lambdatest_emulator`` and ``lambdatest_emulator_server``: they come with
the package's ``devsession_emulator`` plugin (``emulator/fixture.py``), loaded by every pytest; this module only
names them (do not register it as a plugin of its own).
"""
from ..fixture import LAMBDATEST_SETTINGS as SETTINGS  # noqa: F401
from ..fixture import lambdatest_emulator, lambdatest_emulator_server  # noqa: F401

"""``python -m pytest_devsession setup [--check]``: install what the local backend runs."""
from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m pytest_devsession",
        description="Commands of pytest-devsession.",
        epilog="Also: python -m pytest_devsession.local (the capture server), "
               "python -m pytest_devsession.emulator (the HeadSpin emulator).",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    setup = commands.add_parser(
        "setup",
        help="install Chromium, chromedriver and Appium with its fake driver when they are missing",
        description="Install what the local backend runs when it is missing: Chromium and chromedriver with the "
                    "system package manager (apt-get, as root or through passwordless sudo; other package "
                    "managers: the command is printed), Appium 3 and its fake driver with npm into a cache folder "
                    "($DEVSESSION_APPIUM_HOME, default $XDG_CACHE_HOME/pytest-devsession/appium).",
    )
    setup.add_argument("--check", action="store_true",
                       help="only list what is there and what is missing; exit 1 when something is missing")
    args = parser.parse_args(argv)
    from .setup import run

    return run(check=args.check)


if __name__ == "__main__":
    sys.exit(main())

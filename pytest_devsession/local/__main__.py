"""``python -m pytest_devsession.local``: run the capture server until Ctrl-C (``services.capture``)."""
import sys

from ..services.capture.__main__ import main

if __name__ == "__main__":
    sys.exit(main())

"""``python -m pytest_devsession.local``: run the capture server until Ctrl-C."""

from __future__ import annotations

import argparse
import ipaddress
import signal
import sys
import threading
from collections.abc import Sequence


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m pytest_devsession.local",
        description="Capture proxy (mitmproxy) with NectoProxy's Sessions API; serves until Ctrl-C.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: %(default)s)")
    parser.add_argument("--port", type=int, default=8889, help="Sessions API port, 0 picks one (default: %(default)s)")
    parser.add_argument("--proxy-port", type=int, default=8888, help="proxy port, 0 picks one (default: %(default)s)")
    parser.add_argument("--token", help="require 'Authorization: Bearer TOKEN' on the API")
    parser.add_argument("--confdir", help="mitmproxy confdir holding the CA (default: a temporary directory)")
    args = parser.parse_args(argv)

    from .capture import CaptureServer

    server = CaptureServer(
        host=args.host, api_port=args.port, proxy_port=args.proxy_port, confdir=args.confdir, api_token=args.token
    )
    try:
        server.start()
    except (RuntimeError, OSError) as exc:
        print(f"error: could not start the capture server: {exc}", file=sys.stderr)
        return 1

    # SIGTERM stops as cleanly as Ctrl-C does
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        auth = " (requires 'Authorization: Bearer <token>' with the --token given)" if args.token else ""
        print(f"Sessions API: {server.api_url}/api{auth}")
        print(f"Proxy:        {server.proxy_url}")
        print(f"CA cert:      {server.ca_cert_path}")
        if not _is_loopback(args.host) and not args.token:
            print(f"warning: listening on {args.host} with no --token: anyone who can reach it can read the traffic")
        print("Press Ctrl-C to stop.", flush=True)
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    print("Stopped.", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

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
    parser.add_argument(
        "--behave", choices=("documented", "nectoproxy"), default="documented",
        help="documented: one capture per session, as NectoProxy's Sessions API page describes it (default); "
             "nectoproxy: as NectoProxy's server really behaves: all traffic goes into the session active at "
             "start, a token is always required (a new one each start, shown in the Web UI line)",
    )
    args = parser.parse_args(argv)

    from .server import CaptureServer

    token = args.token
    if args.behave == "nectoproxy" and not token:
        import secrets

        token = secrets.token_hex(16)
    server = CaptureServer(
        host=args.host, api_port=args.port, proxy_port=args.proxy_port, confdir=args.confdir, api_token=token,
        behave=args.behave,
    )
    try:
        server.start()
    except (RuntimeError, OSError) as exc:
        print(f"error: could not start the capture server: {exc}", file=sys.stderr)
        return 1

    # SIGTERM stops as cleanly as Ctrl-C does
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        if args.behave == "nectoproxy":
            auth = " (requires the token of the Web UI line: 'Authorization: Bearer <token>' or ?token=)"
        else:
            auth = " (requires 'Authorization: Bearer <token>' with the --token given)" if token else ""
        print(f"Sessions API: {server.api_url}/api{auth}")
        print(f"Proxy:        {server.proxy_url}")
        print(f"CA cert:      {server.ca_cert_path}")
        if args.behave == "nectoproxy":
            # As NectoProxy does: the token only inside the Web UI line.
            print(f"Web UI:       {server.api_url}/?token={token}")
            print(f"Session:      {server.store.active()['name']} (records all traffic, whatever the API says)")
        if not _is_loopback(args.host) and not token:
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

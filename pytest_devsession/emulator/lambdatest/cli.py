"""python -m pytest_devsession.emulator --service lambdatest [options] [-- COMMAND ...]

Without a command: serve the emulated LambdaTest (hub and Automation API) until Ctrl-C.
With a command: serve it while COMMAND runs with LT_USERNAME, LT_ACCESS_KEY, LT_HUB_URL (without
credentials) and LT_API_URL pointing at it, then exit with its code. The access key is never
printed: pass --access-key, or --access-key-file to have it written down.
"""

from __future__ import annotations

import argparse

from ..launch import serve, where_secret, write_secret


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m pytest_devsession.emulator --service lambdatest",
        description="Serve an offline emulation of LambdaTest (a WebDriver hub with a local headless Chromium "
                    "behind it, and the Automation API); with '-- COMMAND ...', run COMMAND against it and exit "
                    "with its exit code.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="port to bind (default: 0, any free port)")
    parser.add_argument("--username", default="emulator-user", help="the account's user name (default: emulator-user)")
    parser.add_argument("--access-key", help="the access key to accept (default: a random one)")
    parser.add_argument("--access-key-file", help="write the accepted access key to this file (mode 0600)")
    parser.add_argument("--artifact-delay", type=float, default=0.2, metavar="S",
                        help="seconds after a session ends before its video and logs are out (default: 0.2)")
    parser.add_argument("--signed-link-ttl", type=float, default=60.0, metavar="S",
                        help="seconds a signed video link stays good (default: 60)")
    parser.add_argument("--latency", type=float, default=0.0, metavar="S",
                        help="seconds added to every round trip, like a service far away (default: 0)")
    parser.add_argument("--allow-internet", dest="loopback_only", action="store_false",
                        help="let the browsers resolve any host name (default: loopback only, nothing leaves the "
                             "machine)")
    parser.add_argument("--chromedriver", help="chromedriver to use (default: the one on PATH)")
    parser.add_argument("--chromium", help="Chromium binary to use (default: the one on PATH)")
    return parser




def main(argv: list, command: list) -> int:
    """``argv``: the options (``--service`` taken out already); ``command``: what came after ``--``."""
    parser = _parser()
    args = parser.parse_args(argv)
    from .server import LambdaTestEmulator

    try:
        emulator = LambdaTestEmulator(args.host, args.port, args.username, args.access_key,
                                      artifact_delay=args.artifact_delay, signed_link_ttl=args.signed_link_ttl,
                                      latency=args.latency, loopback_only=args.loopback_only,
                                      chromedriver=args.chromedriver, chromium=args.chromium)
    except ValueError as exc:
        parser.error(str(exc))
    if args.access_key_file:
        write_secret(args.access_key_file, emulator.access_key)
    return serve(emulator, f"{args.host}:{args.port}", command,
                 lambda: {"LT_USERNAME": emulator.username, "LT_ACCESS_KEY": emulator.access_key,
                          "LT_HUB_URL": emulator.hub_url, "LT_API_URL": emulator.url},
                 lambda: f"LambdaTest emulator at {emulator.root_url}; set LT_HUB_URL={emulator.hub_url} "
                         f"LT_API_URL={emulator.url} LT_USERNAME={emulator.username} and LT_ACCESS_KEY to "
                         f"{where_secret(bool(args.access_key), args.access_key_file, 'key', '--access-key')}. "
                         "Ctrl-C stops it.")

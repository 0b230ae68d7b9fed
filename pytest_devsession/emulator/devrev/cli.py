"""python -m pytest_devsession.emulator --service devrev [options] [-- COMMAND ...]

Without a command: serve the emulated DevRev observability API until Ctrl-C.
With a command: serve it while COMMAND runs with DEVREV_API_URL, DEVREV_TOKEN and DEVREV_APP_ID
pointing at it, then exit with its code. The token is never printed: pass --token, or
--token-file to have it written down.
"""

from __future__ import annotations

import argparse

from ..launch import serve, where_secret, write_secret


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m pytest_devsession.emulator --service devrev",
        description="Serve an offline emulation of DevRev's observability API (sessions, recordings, frames, "
                    "and an SDK-like upload route); with '-- COMMAND ...', run COMMAND against it and exit with "
                    "its exit code.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="port to bind (default: 0, any free port)")
    parser.add_argument("--token", help="the personal access token to accept (default: a random one)")
    parser.add_argument("--token-file", help="write the accepted token to this file (mode 0600)")
    parser.add_argument("--app-id", default="emulator-app", help="the App ID (version_key) of the known app "
                                                                  "(default: emulator-app)")
    parser.add_argument("--upload-delay", type=float, default=1.0, metavar="S",
                        help="seconds after an upload before the session is listed (default: 1)")
    parser.add_argument("--frame-link-ttl", type=float, default=60.0, metavar="S",
                        help="seconds a presigned frame link stays good (default: 60)")
    parser.add_argument("--rate-limit", type=int, default=0, metavar="N",
                        help="requests allowed per --rate-window (default: 0, no limit)")
    parser.add_argument("--rate-window", type=float, default=300.0, metavar="S",
                        help="seconds of the rate limit's window (default: 300)")
    return parser




def main(argv: list, command: list) -> int:
    """``argv``: the options (``--service`` taken out already); ``command``: what came after ``--``."""
    parser = _parser()
    args = parser.parse_args(argv)
    from .server import DevRevEmulator

    try:
        emulator = DevRevEmulator(args.host, args.port, args.token, args.app_id, upload_delay=args.upload_delay,
                                  frame_link_ttl=args.frame_link_ttl, rate_limit=args.rate_limit or None,
                                  rate_window=args.rate_window)
    except ValueError as exc:
        parser.error(str(exc))
    if args.token_file:
        write_secret(args.token_file, emulator.token)
    return serve(emulator, f"{args.host}:{args.port}", command,
                 lambda: {"DEVREV_API_URL": emulator.url, "DEVREV_TOKEN": emulator.token,
                          "DEVREV_APP_ID": emulator.app_id},
                 lambda: f"DevRev emulator at {emulator.url}; set DEVREV_API_URL={emulator.url} "
                         f"DEVREV_APP_ID={emulator.app_id} and DEVREV_TOKEN to "
                         f"{where_secret(bool(args.token), args.token_file, 'token', '--token')}. Upload sessions "
                         f"with POST {emulator.url}/_emulator/sessions.upload. Ctrl-C stops it.")

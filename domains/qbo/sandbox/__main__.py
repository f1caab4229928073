"""Domain (QBO sandbox): command line — `python -m domains.qbo.sandbox serve|reset|seed`."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

from domains.qbo.sandbox.seed import SeedError
from domains.qbo.sandbox.server import DEFAULT_DB_PATH, DEFAULT_HOST, DEFAULT_PORT, reset, seed, serve


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m domains.qbo.sandbox", description="Local QBO sandbox.")
    commands = parser.add_subparsers(dest="command", required=True)

    serve_cmd = commands.add_parser("serve", help="serve the sandbox over HTTP")
    serve_cmd.add_argument("--host", default=DEFAULT_HOST)
    serve_cmd.add_argument("--port", type=int, default=DEFAULT_PORT)
    serve_cmd.add_argument("--db", default=str(DEFAULT_DB_PATH), help="database file")
    serve_cmd.add_argument("--webhook-url", help="POST change notifications here")
    serve_cmd.add_argument("--webhook-verifier", help="verifier token that signs webhook bodies")
    serve_cmd.add_argument(
        "--cloudevents", action="store_true", help="send webhooks in the CloudEvents format"
    )

    reset_cmd = commands.add_parser("reset", help="remove every company, token and replay")
    reset_cmd.add_argument("--db", default=str(DEFAULT_DB_PATH))

    seed_cmd = commands.add_parser("seed", help="add a company from a directory of QBO response files")
    seed_cmd.add_argument("directory")
    seed_cmd.add_argument("--name", required=True, help="company name")
    seed_cmd.add_argument("--realm-id", help="use this realm id instead of the next free one")
    seed_cmd.add_argument("--db", default=str(DEFAULT_DB_PATH))

    args = parser.parse_args(argv)
    if args.command == "serve":
        extra: dict[str, Any] = {}
        if args.webhook_url:
            extra.update(webhook_url=args.webhook_url, webhook_verifier=args.webhook_verifier or "")
            extra["webhook_format"] = "cloudevents" if args.cloudevents else "classic"
        serve(args.host, args.port, args.db, **extra)
    elif args.command == "reset":
        reset(args.db)
        print(f"sandbox database {args.db} is empty")
    else:
        try:
            realm_id = seed(args.directory, args.name, args.db, args.realm_id)
        except SeedError as exc:
            print(f"seed refused: {exc}", file=sys.stderr)
            return 1
        print(realm_id)
    return 0


if __name__ == "__main__":
    sys.exit(main())

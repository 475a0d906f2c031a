"""``halong node user add|list``, ``halong node token`` and ``halong node alerts``: the
node's accounts, API tokens and alert settings.

The node command calls :func:`register_admin` with its own subparsers. A password is
read from ``--password-file`` or asked for twice without echo; it is never printed,
logged or stored (only its Argon2id hash is). A token is printed once, on its own line,
and only its SHA-256 kept: lose it and make a new one.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from pathlib import Path

from workstation.cli import EXIT_ERROR
from workstation.commands.net_options import add_http_auth, add_tls, http_endpoint
from workstation.home import resolve_home

PROG = "halong node"


def register_admin(subparsers: argparse._SubParsersAction) -> None:
    """Add ``user``, ``token`` and ``alerts`` to the ``halong node`` subcommands."""
    from workstation.node.roles import ROLES

    user = subparsers.add_parser(
        "user", help="the stroke team's accounts for the node's web page"
    ).add_subparsers(dest="user_command", metavar="COMMAND", required=True)
    add = user.add_parser(
        "add",
        help="create an account (password asked for, or read from --password-file)",
        description="Create a web page account. physician: sees and acknowledges alerts; "
        "observer: only sees them. The password needs at least 10 characters.",
    )
    add.add_argument("name", metavar="NAME")
    add.add_argument("--role", required=True, choices=ROLES)
    add.add_argument(
        "--password-file", type=Path, metavar="F", help="read the password from this file"
    )
    add.add_argument("--email", default="", metavar="ADDR", help="where alert e-mails go")
    add.set_defaults(handler=run_user_add)
    listing = user.add_parser("list", help="the accounts, with their roles")
    listing.set_defaults(handler=run_user_list)

    token = subparsers.add_parser(
        "token",
        help="print a new API bearer token for NAME (shown once; replaces NAME's old one)",
    )
    token.add_argument("name", metavar="NAME")
    token.set_defaults(handler=run_token)

    alerts = subparsers.add_parser(
        "alerts",
        help="where alerts go and who answers them (prints the settings)",
        description="Set the alert settings kept in the node database; options not given "
        "keep their value. Without options, print them.",
    )
    alerts.add_argument(
        "--on-call", metavar="A,B,C", help="user names in escalation order ('' for nobody)"
    )
    alerts.add_argument(
        "--acknowledge-within",
        type=_minutes,
        metavar="MINUTES",
        help="escalate to the next person after this long (default 10)",
    )
    alerts.add_argument("--rules", type=Path, metavar="FILE", help="alert rules (JSON)")
    alerts.add_argument("--fhir", metavar="URL", help="the EMR's FHIR base for Communications")
    add_http_auth(alerts)
    add_tls(alerts)
    alerts.add_argument("--smtp", metavar="HOST:PORT", help="mail server for alert e-mails")
    alerts.add_argument("--smtp-starttls", action="store_true", help="use STARTTLS")
    alerts.add_argument("--smtp-user", default="", metavar="USER", help="SMTP login")
    alerts.add_argument(
        "--smtp-password-file", type=Path, metavar="F", help="SMTP password (read at each use)"
    )
    alerts.add_argument("--mail-from", metavar="ADDR", help="the sender of alert e-mails")
    alerts.add_argument(
        "--page-url", metavar="URL", help="the web page as the team reaches it (for links)"
    )
    alerts.set_defaults(handler=run_alerts)


def _minutes(text: str) -> float:
    try:
        minutes = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected minutes, got {text!r}") from None
    if not 0 < minutes <= 24 * 60:
        raise argparse.ArgumentTypeError(f"expected 0 to 1440 minutes, got {text!r}")
    return minutes * 60.0


def _fail(message: str) -> int:
    print(f"{PROG}: error: {message}", file=sys.stderr)
    return EXIT_ERROR


def _read_password(args: argparse.Namespace) -> str:
    if args.password_file is not None:
        lines = args.password_file.read_text(encoding="utf-8").splitlines()
        return lines[0] if lines else ""
    first = getpass.getpass(f"Password for {args.name}: ")
    if getpass.getpass("Again: ") != first:
        raise ValueError("the two passwords differ")
    return first


def run_user_add(args: argparse.Namespace) -> int:
    from workstation.node.accounts import AccountError, add_user

    database = resolve_home(args.home).node_database
    try:
        password = _read_password(args)
        user = add_user(database, args.name, args.role, password, args.email)
    except OSError as error:
        return _fail(f"cannot read the password file: {error.strerror}: {args.password_file}")
    except (AccountError, ValueError, EOFError) as error:
        return _fail(str(error) or "no password given")
    print(f"user {user.name} added ({user.role})")
    return 0


def run_user_list(args: argparse.Namespace) -> int:
    from workstation.commands.console import format_table
    from workstation.node.accounts import users

    rows = [[u.name, u.role, u.email] for u in users(resolve_home(args.home).node_database)]
    print(format_table(["NAME", "ROLE", "E-MAIL"], rows) if rows else "no users")
    return 0


def run_token(args: argparse.Namespace) -> int:
    from workstation.node.accounts import AccountError, new_token

    try:
        token = new_token(resolve_home(args.home).node_database, args.name)
    except AccountError as error:
        return _fail(str(error))
    print(token)
    print(
        f"the API token for {args.name}: shown this once, kept only as a hash",
        file=sys.stderr,
    )
    return 0


def run_alerts(args: argparse.Namespace) -> int:
    import dataclasses
    import json

    from workstation.net.destinations import Destination, DestinationError, HostPort
    from workstation.net.smtp import SmtpEndpoint
    from workstation.node.accounts import find_user
    from workstation.node.alert_rules import AlertRulesError, load_rules
    from workstation.node.alert_settings import load_settings, save_settings

    database = resolve_home(args.home).node_database
    settings = load_settings(database)
    changes: dict[str, object] = {}
    try:
        if args.on_call is not None:
            names = tuple(n.strip() for n in args.on_call.split(",") if n.strip())
            unknown = [name for name in names if find_user(database, name) is None]
            if unknown:
                return _fail(f"not a user: {', '.join(unknown)} (halong node user add NAME)")
            changes["on_call"] = names
        if args.acknowledge_within is not None:
            changes["acknowledge_within_s"] = args.acknowledge_within
        if args.rules is not None:
            load_rules(args.rules)  # refused now, not when a critical result comes
            changes["rules_file"] = args.rules.absolute()
        if args.fhir is not None:
            changes["fhir"] = Destination.fhir(http_endpoint(args, args.fhir))
        if args.smtp is not None:
            if not (args.mail_from or settings.mail_from):
                return _fail("--smtp needs --mail-from (the sender's address)")
            endpoint = SmtpEndpoint(
                HostPort.parse(args.smtp),
                args.smtp_starttls,
                args.smtp_user,
                args.smtp_password_file,
            )
            changes["smtp"] = Destination.smtp(args.smtp, endpoint.options())
        if args.mail_from is not None:
            changes["mail_from"] = args.mail_from
        if args.page_url is not None:
            changes["page_url"] = args.page_url
    except (AlertRulesError, DestinationError) as error:
        return _fail(str(error))
    if changes:
        settings = dataclasses.replace(settings, **changes)
        save_settings(database, settings)
    print(json.dumps(settings.to_json(), indent=2))
    return 0

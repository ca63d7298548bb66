"""Operator commands for a deployed stage, run with the stage's AWS credentials and environment
(MAESTRO_STAGE, MAESTRO_TABLE_PREFIX, MAESTRO_SECRETS_PREFIX, ... as in .chalice/config.json).

    python -m infra.operator create-tenant --tenant-name "Acme ML" --email ada@acme.example --name "Ada" \\
        --password-stdin < password.txt

Creates a tenant and its first admin where open signup is closed (prod). The password is read from stdin or
prompted for, never taken from the command line, where it would land in shell history.

    python -m infra.operator backfill-rollups --tenant-id ten_... [--project-id prj_...]

Rebuilds the weekly rollups the analytics read from the stored events, for events stored before the rollups
existed (maestro.services.analytics.backfill_rollups): idempotent, and safe beside live ingestion.
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.operator", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    create = commands.add_parser("create-tenant", help="create a tenant and its first admin")
    create.add_argument("--tenant-name", required=True)
    create.add_argument("--email", required=True)
    create.add_argument("--name", required=True)
    create.add_argument("--password-stdin", action="store_true", help="read the admin's password from stdin")
    backfill = commands.add_parser("backfill-rollups", help="rebuild a tenant's (or one project's) weekly rollups")
    backfill.add_argument("--tenant-id", required=True)
    backfill.add_argument("--project-id")
    args = parser.parse_args(argv)
    if args.command == "backfill-rollups":
        from maestro.services.analytics import backfill_rollups, backfill_tenant_rollups

        if args.project_id:
            print(json.dumps(backfill_rollups(args.tenant_id, args.project_id)))
        else:
            print(json.dumps(backfill_tenant_rollups(args.tenant_id)))
        return 0

    password = sys.stdin.readline().rstrip("\n") if args.password_stdin else getpass.getpass("admin password: ")
    from maestro.domain.errors import DomainError
    from maestro.services.context import RequestMeta
    from maestro.services.identity import create_tenant

    try:
        admin = create_tenant(args.tenant_name, args.email, password, args.name, RequestMeta(user_agent="operator"))
    except DomainError as error:
        print(json.dumps({"error": error.detail, **error.extensions}), file=sys.stderr)
        return 2
    print(json.dumps({"tenant_id": admin.tenant_id, "admin_user_id": admin.user_id, "email": admin.email}))
    return 0


if __name__ == "__main__":
    sys.exit(main())

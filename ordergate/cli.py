"""`ordergate serve | migrate | export-schema | token | seed | sync storefront`."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from ordergate import logs
from ordergate.auth import mint_token
from ordergate.models.identity import Role
from ordergate.settings import DEV_JWT_SECRET, Settings, SettingsError, settings_table, with_settings_table
from ordergate.store.engine import shown
from ordergate.usecases.services import utc_now


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ordergate", description="Order management as one GraphQL API.")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the gateway")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)
    serve.add_argument("--reload", action="store_true", help="restart on code changes (development)")

    commands.add_parser("migrate", help="bring the database schema to the latest revision")

    export = commands.add_parser("export-schema", help="print the GraphQL SDL")
    export.add_argument("--output", type=Path, help="write to this file instead of stdout")

    token = commands.add_parser("token", help="mint a development bearer token (HS256)")
    token.add_argument("--role", required=True, choices=[r.value for r in Role])
    token.add_argument("--email", help="the customer's email (required for --role customer)")
    token.add_argument("--location", action="append", default=[], help="a location code; repeatable")
    token.add_argument("--subject", help="the token's sub claim")
    token.add_argument("--ttl", type=int, help="seconds until it expires")

    commands.add_parser("seed", help="load the demo network and catalogue (idempotent)")

    operations = commands.add_parser(
        "operations", help="print the registered operations as a trusted-documents manifest"
    )
    operations.add_argument(
        "--format",
        choices=["apollo", "relay", "codegen"],
        default="apollo",
        help="Apollo's persisted query manifest (default), or the id-to-text JSON of Relay or codegen",
    )
    operations.add_argument(
        "--typename",
        action="store_true",
        help="each document as Apollo Client sends it, with __typename added",
    )

    sync = commands.add_parser("sync", help="import from an upstream (resumable, idempotent)")
    sync.add_argument("source", choices=["storefront"], help="what to import from")
    sync.add_argument(
        "--since",
        type=_timestamp,
        help="orders modified at or after this ISO 8601 time (default: where the last run got to)",
    )

    described = commands.add_parser("settings", help="print the table of environment variables it reads")
    described.add_argument(
        "--write-readme",
        type=Path,
        metavar="PATH",
        help="rewrite the table between the settings markers of this README instead",
    )
    return parser


def _timestamp(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an ISO 8601 time") from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


async def _migrate(settings: Settings) -> None:
    from ordergate import bootstrap
    from ordergate.store import migrate

    async with bootstrap.opened(settings, prepared=False) as services:
        await migrate.upgrade(services.store)
        print(f"schema at {await migrate.current_revision(services.store)}")


async def _prepare(settings: Settings) -> None:
    from ordergate import bootstrap

    async with bootstrap.opened(settings):
        pass


async def _seed(settings: Settings) -> None:
    from ordergate import bootstrap

    async with bootstrap.opened(replace(settings, seed_demo_data=True)):
        print("demo network and catalogue present")


async def _running_sandbox_storefront(settings: Settings) -> Settings | None:
    """In the sandbox, the storefront to sync from is the running gateway's (its orders, its
    catalogue), served at `<public URL>/sandbox/bigcommerce`, not a fresh one of this process's
    own; None when no gateway answers there."""
    import httpx

    url = f"{settings.public_url.rstrip('/')}/sandbox/bigcommerce"
    try:
        async with httpx.AsyncClient(timeout=2.0, trust_env=False) as client:
            answer = await client.get(f"{settings.public_url.rstrip('/')}/healthz")
    except httpx.HTTPError:
        return None
    if answer.status_code != 200:
        return None
    token = settings.bigcommerce.token or "sandbox"  # as this process would speak to its own sandbox
    return replace(settings, bigcommerce=replace(settings.bigcommerce, url=url, token=token))


async def _sync_storefront(settings: Settings, since: datetime | None) -> int:
    from ordergate import bootstrap
    from ordergate.connectors.errors import UpstreamError
    from ordergate.usecases import storefront

    if settings.sandbox and not settings.bigcommerce.url:
        running = await _running_sandbox_storefront(settings)
        if running is None:
            print(
                f"no gateway answers at {settings.public_url}: the sandbox storefront to sync from is "
                "the running gateway's (start it with `make serve`, or set ORDERGATE_PUBLIC_URL to where "
                "it runs, or ORDERGATE_BIGCOMMERCE_URL for a real store)"
            )
            return 1
        settings = running
        print(f"storefront: the running gateway's sandbox at {settings.bigcommerce.url}")

    async with bootstrap.opened(settings) as services:
        if services.storefront is None:
            print("no storefront is configured (set ORDERGATE_BIGCOMMERCE_URL, or leave the sandbox on)")
            return 1
        try:
            changed = await storefront.sync_catalog(services)
            report = await storefront.sync_orders(services, since)
        except UpstreamError as error:
            print(f"the storefront could not be read: {error}")
            return 1
        print(f"catalogue: {changed} products added or changed")
        print(
            f"orders: {report.seen} seen over {report.pages} pages, {report.imported} imported; "
            f"next run resumes from {report.watermark.isoformat() if report.watermark else 'the beginning'}"
        )
        return 0


def served_url(host: str, port: int) -> str:
    """Where this gateway is reached when ORDERGATE_PUBLIC_URL does not say: the address it
    listens on (a wildcard address stands for this machine)."""
    if host in ("", "0.0.0.0"):  # noqa: S104 - naming the wildcard, not binding to it
        host = "127.0.0.1"
    elif host == "::":
        host = "[::1]"
    elif ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"http://{host}:{port}"


def _serve(settings: Settings, args: argparse.Namespace) -> None:
    import uvicorn

    if "ORDERGATE_PUBLIC_URL" not in os.environ:
        # Links and webhook URLs follow --host/--port (label links pointed at port 8000 while
        # the server ran elsewhere); set in the environment, so that every worker reads it.
        os.environ["ORDERGATE_PUBLIC_URL"] = served_url(args.host, args.port)
        settings = replace(settings, public_url=os.environ["ORDERGATE_PUBLIC_URL"])

    # Prepare once here, so several workers do not race to migrate and seed.
    asyncio.run(_prepare(settings))
    host = "localhost" if args.host in ("127.0.0.1", "0.0.0.0") else args.host  # noqa: S104
    print(f"ordergate: GraphiQL at http://{host}:{args.port}/graphql")
    print(f"ordergate: database {shown(settings.database_url)}")
    if settings.jwt_secret == DEV_JWT_SECRET:
        # Only with the development secret: a production log must not carry a live admin token.
        print("ordergate: using the development JWT secret; set ORDERGATE_JWT_SECRET in production")
        admin = mint_token(settings, role=Role.ADMIN, subject="admin@ordergate.local", now=utc_now())
        print(f"ordergate: admin token (header `Authorization: Bearer ...`):\n{admin}", flush=True)
    else:
        print("ordergate: mint tokens with `ordergate token --role ROLE`", flush=True)
    uvicorn.run(
        "ordergate.app:create_served_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        reload=args.reload,
        log_level=settings.log_level.lower(),
        log_config=None,  # uvicorn's loggers go through ours (JSON, with the request id)
        proxy_headers=True,
        ws_max_size=settings.max_body_bytes,  # a WebSocket message is bounded as a request body is
        # Live answers (subscriptions, the status page's event stream) never end by themselves:
        # on SIGTERM they get this long, then are closed (clients reconnect to another replica).
        timeout_graceful_shutdown=10,
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return _run(args)
    except SettingsError as error:  # a setting that cannot be used: say which, no traceback
        print(f"ordergate: {error}", file=sys.stderr)
        return 2


def _run(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    if args.command == "serve":
        settings.check_serving()
        from ordergate.schema import persisted

        persisted.for_settings(settings)  # a malformed trusted-documents manifest is said here, plainly
    logs.configure(settings.log_level, settings.log_format)
    if args.command == "serve":
        _serve(settings, args)
    elif args.command == "migrate":
        asyncio.run(_migrate(settings))
    elif args.command == "export-schema":
        from ordergate.schema.build import print_sdl

        sdl = print_sdl()
        if args.output:
            args.output.write_text(sdl)
        else:
            sys.stdout.write(sdl)
    elif args.command == "token":
        role = Role(args.role)
        if role is Role.CUSTOMER and not args.email:
            print("ordergate token: --email is required for a customer", file=sys.stderr)
            return 2
        print(
            mint_token(
                settings,
                role=role,
                now=utc_now(),
                subject=args.subject,
                email=args.email,
                locations=args.location,
                ttl_seconds=args.ttl,
            )
        )
    elif args.command == "seed":
        asyncio.run(_seed(settings))
    elif args.command == "operations":
        from ordergate.schema import persisted

        registered = persisted.for_settings(settings).registered
        print(persisted.manifest(registered, args.format, typename=args.typename))
    elif args.command == "sync":
        return asyncio.run(_sync_storefront(settings, args.since))
    elif args.command == "settings":
        if args.write_readme is None:
            sys.stdout.write(settings_table())
        else:
            args.write_readme.write_text(with_settings_table(args.write_readme.read_text()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

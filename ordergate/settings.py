"""One frozen settings object, read from the environment once at start.

Each setting is declared once, below: its field, type and default, the environment variable
it is read from, how that text is parsed, and what it means. `Settings.from_env` reads every
declaration; `settings_table` renders them as the README's table (`make readme` rewrites it,
and a test fails when the two disagree). Each upstream's settings form a group of their own
(`settings.katana.url`), read from the same flat variable names as ever.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping
from dataclasses import MISSING, Field, dataclass, field, fields
from decimal import Decimal
from typing import Any, TypeVar

from ordergate import parsers

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./ordergate.db"
DEV_JWT_SECRET = "ordergate-dev-secret-change-me-0123456789abcdef"  # noqa: S105
MIN_JWT_SECRET_LENGTH = 32  # HS256 keys shorter than the hash (256 bits) are guessable offline

T = TypeVar("T")
S = TypeVar("S")


class SettingsError(ValueError):
    """A setting is present but cannot be used."""


@dataclass(frozen=True)
class Variable:
    """Where a setting comes from and what it means."""

    env: str
    parse: Callable[[str], Any]
    meaning: str
    shown: str | None  # the default as the README shows it, when the value alone would not say
    default_from: str | None  # the field whose value is the default, when that is another setting


def setting(
    env: str,
    default: T,
    meaning: str,
    parse: Callable[[str], Any] = parsers.text,
    *,
    shown: str | None = None,
    default_from: str | None = None,
) -> T:
    """A field read from `env` (unset or blank: `default`), parsed by `parse`."""
    variable = Variable(env, parse, meaning, shown, default_from)
    return field(default=default, metadata={"variable": variable})


def group(kind: Callable[[], S], title: str) -> S:
    """A field holding one upstream's settings (read from the same environment)."""
    return field(default_factory=kind, metadata={"group": kind, "title": title})


UNSET_SANDBOX = "unset (the sandbox)"
SANDBOX_SECRET = "a sandbox secret"  # noqa: S105 (how the README shows a default)


@dataclass(frozen=True)
class KatanaSettings:
    url: str | None = setting(
        "ORDERGATE_KATANA_URL",
        None,
        "Katana's API root, e.g. `https://api.katanamrp.com/v1`",
        parsers.url,
        shown=UNSET_SANDBOX,
    )
    token: str | None = setting(
        "ORDERGATE_KATANA_TOKEN",
        None,
        "Katana API key (sent as a bearer token); the sandbox accepts any when unset",
    )
    webhook_secrets: tuple[str, ...] = setting(
        "ORDERGATE_KATANA_WEBHOOK_SECRET",
        (),
        "the token Katana signs inventory webhooks with; two, comma-separated, while rotating",
        parsers.listed,
        shown=SANDBOX_SECRET,
    )


@dataclass(frozen=True)
class StripeSettings:
    url: str = setting(
        "ORDERGATE_STRIPE_URL",
        "https://api.stripe.com",
        'the payment provider\'s API root (a PaymentIntent API) for `PaymentInput.provider: "stripe"`',
        parsers.url,
    )
    key: str | None = setting(
        "ORDERGATE_STRIPE_KEY",
        None,
        "its secret key; without it only the `sandbox` provider (test tokens `tok_visa`, `tok_declined`, "
        "`tok_error`) is offered",
    )


@dataclass(frozen=True)
class BigCommerceSettings:
    url: str | None = setting(
        "ORDERGATE_BIGCOMMERCE_URL",
        None,
        "the store's API root, e.g. `https://api.bigcommerce.com/stores/{hash}`",
        parsers.url,
        shown=UNSET_SANDBOX,
    )
    token: str | None = setting(
        "ORDERGATE_BIGCOMMERCE_TOKEN",
        None,
        "the store's API account token (`X-Auth-Token`); the sandbox accepts any when unset",
    )
    webhook_secrets: tuple[str, ...] = setting(
        "ORDERGATE_BIGCOMMERCE_WEBHOOK_SECRET",
        (),
        "the secret registered as a custom header on our hooks; two, comma-separated, while rotating",
        parsers.listed,
        shown=SANDBOX_SECRET,
    )


@dataclass(frozen=True)
class ShipEngineSettings:
    url: str | None = setting(
        "ORDERGATE_SHIPENGINE_URL",
        None,
        "ShipEngine's API root, e.g. `https://api.shipengine.com`",
        parsers.url,
        shown=UNSET_SANDBOX,
    )
    key: str | None = setting(
        "ORDERGATE_SHIPENGINE_KEY", None, "ShipEngine `API-Key`; the sandbox accepts any when unset"
    )
    webhook_secret: str | None = setting(
        "ORDERGATE_SHIPENGINE_WEBHOOK_SECRET",
        None,
        "the secret ShipEngine sends back (as `X-Ordergate-Webhook-Secret`) on tracking webhooks",
        shown=SANDBOX_SECRET,
    )


@dataclass(frozen=True)
class UpsSettings:
    url: str | None = setting(
        "ORDERGATE_UPS_URL",
        None,
        "UPS's API root, e.g. `https://onlinetools.ups.com`",
        parsers.url,
        shown=UNSET_SANDBOX,
    )
    client_id: str | None = setting("ORDERGATE_UPS_CLIENT_ID", None, "UPS OAuth client id")
    client_secret: str | None = setting("ORDERGATE_UPS_CLIENT_SECRET", None, "UPS OAuth client secret")
    account: str | None = setting("ORDERGATE_UPS_ACCOUNT", None, "UPS shipper account number")
    webhook_credential: str | None = setting(
        "ORDERGATE_UPS_WEBHOOK_CREDENTIAL",
        None,
        "the `credential` UPS Track Alert sends back on each delivery",
        shown=SANDBOX_SECRET,
    )


@dataclass(frozen=True)
class WebhookSettings:
    """Our webhooks out, to the endpoints customers register."""

    allow_private: bool = setting(
        "ORDERGATE_WEBHOOKS_ALLOW_PRIVATE",
        False,
        "let outgoing webhook endpoints (`registerWebhookEndpoint`) resolve to private (10/8, 172.16/12, "
        "192.168/16, fc00::/7), loopback and shared (100.64/10) addresses, for receivers on an on-premises "
        "network; cloud metadata, link-local, multicast and reserved addresses stay refused "
        '(`WEBHOOK_URL_NOT_ALLOWED`, and "target not allowed" at delivery)',
        parsers.flag,
    )


@dataclass(frozen=True)
class EmailSettings:
    """Transactional email to customers, and who it comes from."""

    smtp_url: str | None = setting(
        "ORDERGATE_SMTP_URL",
        None,
        "the SMTP server emails go to: `smtp://user:password@host:587` (STARTTLS when the server offers it) "
        "or `smtps://...:465` (TLS from the start); unset, the sandbox's own server keeps them at "
        "`/sandbox/mail`, and without the sandbox no email is sent",
        parsers.url,
        shown=UNSET_SANDBOX,
    )
    merchant_name: str = setting(
        "ORDERGATE_MERCHANT_NAME", "Ordergate Demo Store", "the store's name, as emails sign and greet with"
    )
    from_address: str = setting(
        "ORDERGATE_EMAIL_FROM",
        "orders@shop.example",
        "the address emails come from (its domain also names each email's `Message-ID`)",
        parsers.mailbox,
    )
    reply_to: str = setting(
        "ORDERGATE_EMAIL_REPLY_TO",
        "support@shop.example",
        "where a customer's reply goes, and the support address the footer names",
        parsers.mailbox,
    )
    postal_address: str = setting(
        "ORDERGATE_MERCHANT_POSTAL_ADDRESS",
        "1 Market Street, San Francisco, CA 94105, US",
        "the merchant's postal address, in every email's footer",
    )


@dataclass(frozen=True)
class Settings:
    """Everything the composition root needs to build the gateway."""

    database_url: str = setting(
        "DATABASE_URL",
        DEFAULT_DATABASE_URL,
        "the store; `postgresql+asyncpg://user@host/db` for PostgreSQL (`postgresql://` is accepted)",
        parsers.database_url,
    )
    database_connections: int = setting(
        "ORDERGATE_DATABASE_CONNECTIONS",
        30,
        "the most connections one gateway process holds to PostgreSQL: a pool of a third of them "
        "kept open, the rest opened under load and closed after (with `--workers N`, N times this)",
        parsers.at_least_one,
    )
    redis_url: str | None = setting(
        "REDIS_URL",
        None,
        "fan events out across gateway replicas through Redis",
        shown="unset (in-process broker)",
    )
    jwt_secret: str = setting(
        "ORDERGATE_JWT_SECRET",
        DEV_JWT_SECRET,
        "HS256 key for bearer tokens. With `ORDERGATE_SANDBOX` off it is required (32 characters or more) "
        "unless `ORDERGATE_JWT_PUBLIC_KEY` is set: `serve` refuses to start without it, and tokens signed "
        "with the development secret are never accepted outside the sandbox",
        shown="a development secret (sandbox only)",
    )
    jwt_public_key: str | None = setting(
        "ORDERGATE_JWT_PUBLIC_KEY",
        None,
        "PEM text or a file path; RS256 tokens are then accepted too",
        parsers.pem_or_path,
    )
    jwt_issuer: str = setting(
        "ORDERGATE_JWT_ISSUER", "ordergate", "the `iss` of tokens minted by `ordergate token`"
    )
    link_secret: str | None = setting(
        "ORDERGATE_LINK_SECRET",
        None,
        "the key order status links (`/orders/<number>?t=...`, in every customer email) are signed with; "
        "changing it breaks the links already sent. With the sandbox off it is required (32 characters or "
        "more) unless `ORDERGATE_JWT_SECRET` is set, whose derived key is used otherwise",
        shown="derived from ORDERGATE_JWT_SECRET",
    )
    token_ttl_seconds: int = setting(
        "ORDERGATE_TOKEN_TTL_SECONDS",
        8 * 3600,
        "lifetime of tokens minted by `ordergate token`",
        parsers.integer,
    )
    sandbox: bool = setting(
        "ORDERGATE_SANDBOX", True, "the simulated upstreams and their demo data", parsers.flag
    )
    seed_demo_data: bool = setting(
        "ORDERGATE_SEED",
        True,
        "seed the demo network and catalogue on start (idempotent)",
        parsers.flag,
        shown="as `ORDERGATE_SANDBOX`",
        default_from="sandbox",
    )
    auto_migrate: bool = setting(
        "ORDERGATE_AUTO_MIGRATE",
        True,
        "apply migrations on start (replicas take turns on a lock)",
        parsers.flag,
    )
    graphiql: bool = setting(
        "ORDERGATE_GRAPHIQL", True, "serve GraphiQL on `GET /graphql` for browsers", parsers.flag
    )
    currency: str = setting("ORDERGATE_CURRENCY", "USD", "the currency orders are priced in")
    free_shipping_threshold: Decimal = setting(
        "ORDERGATE_FREE_SHIPPING_THRESHOLD",
        Decimal("75.00"),
        "orders whose lines come to this much or more ship free",
        parsers.amount,
    )
    flat_shipping_rate: Decimal = setting(
        "ORDERGATE_FLAT_SHIPPING_RATE",
        Decimal("7.95"),
        "the shipping charged below that threshold",
        parsers.amount,
    )
    express_shipping_rate: Decimal = setting(
        "ORDERGATE_EXPRESS_SHIPPING_RATE",
        Decimal("14.95"),
        "the shipping charged for the EXPRESS delivery option (the fastest plan), whatever the order's value",
        parsers.amount,
    )
    max_line_quantity: int = setting(
        "ORDERGATE_MAX_LINE_QUANTITY", 999, "the most units one order line may ask for", parsers.integer
    )
    max_lines_per_order: int = setting(
        "ORDERGATE_MAX_LINES_PER_ORDER", 100, "the most lines one order may have", parsers.integer
    )
    page_size_cap: int = setting(
        "ORDERGATE_PAGE_SIZE_CAP", 250, "the largest `first` a connection accepts", parsers.integer
    )
    tax_rules_path: str | None = setting(
        "ORDERGATE_TAX_RULES",
        None,
        "a JSON file of tax rules by destination, replacing the built-in ones: "
        '`[{"country": "US", "region": "CA", "rate": "0.0725", "shippingTaxable": false}]`; '
        "the most specific rule wins",
        shown="built-in rules (US states, CA, DE, FR, NL)",
    )
    fraud_threshold: int = setting(
        "ORDERGATE_FRAUD_THRESHOLD",
        70,
        "orders whose fraud score (0-100) reaches this are taken `ON_HOLD` (`HIGH_RISK_OF_FRAUD`) and not "
        "routed until an agent releases them",
        parsers.integer,
    )
    fraud_blocklist: tuple[str, ...] = setting(
        "ORDERGATE_FRAUD_BLOCKLIST",
        (),
        "comma-separated emails, email domains (`@example.net`) and postal codes whose orders always "
        "score 100",
        parsers.listed_lowered,
        shown="empty",
    )
    split_limit: int = setting(
        "ORDERGATE_SPLIT_LIMIT",
        2,
        "how many locations one order may ship from (a line is split across them only when no one "
        "location holds it); more is refused as `SPLIT_LIMIT_EXCEEDED`",
        parsers.at_least_one,
    )
    split_limits: tuple[tuple[str, int], ...] = setting(
        "ORDERGATE_SPLIT_LIMITS",
        (),
        "the same per channel, overriding it: `web=3,marketplace=1`",
        parsers.per_channel,
        shown="none",
    )
    read_view_ms: int = setting(
        "ORDERGATE_READ_VIEW_MS",
        1000,
        "the most a replica serves the catalogue and stock figures from its own view after reading "
        "them (changes committed on this replica are seen at once, on others when the broker says; "
        "this bounds the rest); 0 reads the store for every answer",
        parsers.integer,
    )
    answer_cache_entries: int = setting(
        "ORDERGATE_ANSWER_CACHE_ENTRIES",
        2048,
        "answers to catalogue and availability queries kept per replica, served to the same body "
        "from the same caller for as long as the read views say nothing they show changed (within "
        "ORDERGATE_READ_VIEW_MS); 0 keeps none",
        parsers.integer,
    )
    edit_window_minutes: int = setting(
        "ORDERGATE_EDIT_WINDOW_MINUTES",
        60,
        "how long after placing an order a customer may still edit it (agents any time while units are "
        "unstarted)",
        parsers.integer,
    )
    max_query_depth: int = setting(
        "ORDERGATE_MAX_QUERY_DEPTH",
        12,
        "deeper operations are refused before they run (`QUERY_TOO_DEEP`)",
        parsers.integer,
    )
    max_query_aliases: int = setting(
        "ORDERGATE_MAX_QUERY_ALIASES", 30, "more aliases are refused (`TOO_MANY_ALIASES`)", parsers.integer
    )
    max_query_tokens: int = setting(
        "ORDERGATE_MAX_QUERY_TOKENS",
        2000,
        "longer documents are not parsed (`TOO_MANY_TOKENS`)",
        parsers.integer,
    )
    max_query_fields: int = setting(
        "ORDERGATE_MAX_QUERY_FIELDS",
        2000,
        "operations that expand to more field selections (each fragment counted as often as it is spread) "
        "are refused before they run (`QUERY_TOO_COSTLY`)",
        parsers.integer,
    )
    max_input_list: int = setting(
        "ORDERGATE_MAX_INPUT_LIST",
        250,
        "the longest list accepted in an operation's arguments or variables (order lines, SKUs); longer is "
        "refused once, before anything is coerced (`INPUT_TOO_LARGE`)",
        parsers.integer,
    )
    max_body_bytes: int = setting(
        "ORDERGATE_MAX_BODY_BYTES",
        1_048_576,
        "the largest request body (`/graphql`, webhooks) and WebSocket message; larger is refused with 413 "
        "before it is read whole",
        parsers.integer,
    )
    max_query_cost: int = setting(
        "ORDERGATE_MAX_QUERY_COST",
        1000,
        'operations whose static cost is higher are refused (`QUERY_TOO_COSTLY`); see "Query cost"',
        parsers.integer,
    )
    query_budget: int = setting(
        "ORDERGATE_QUERY_BUDGET",
        1000,
        "each client's bucket of cost points; over it a request is `THROTTLED` (HTTP 429, `Retry-After`); "
        "`0` turns budgets off",
        parsers.integer,
    )
    query_budget_restore_rate: int = setting(
        "ORDERGATE_QUERY_BUDGET_RESTORE_RATE",
        50,
        "points per second that refill each client's bucket",
        parsers.integer,
    )
    persisted_queries: str = setting(
        "ORDERGATE_PERSISTED_QUERIES",
        "apq",
        "`apq`: Apollo's automatic persisted queries (send `extensions.persistedQuery.sha256Hash`); "
        "`allowlist`: only the registered operations run, by hash or in full (`OPERATION_NOT_ALLOWED` "
        "otherwise; questions about the schema follow `ORDERGATE_INTROSPECTION`); `off`",
        parsers.lowered,
    )
    operations_path: str | None = setting(
        "ORDERGATE_OPERATIONS_PATH",
        None,
        "a folder of `.graphql` files whose operations are registered (the client contract by default); "
        "`ordergate operations [--format apollo|relay|codegen] [--typename]` prints them as a manifest, "
        "`--typename` as Apollo Client and urql send them",
        shown="`ordergate/schema/operations`",
    )
    trusted_documents: tuple[str, ...] = setting(
        "ORDERGATE_TRUSTED_DOCUMENTS",
        (),
        "comma-separated manifests whose documents are registered too: Apollo's persisted query manifest, "
        "Relay's `persisted_queries.json`, GraphQL Code Generator's `persisted-documents.json` (told by "
        "content; each id checked against its text; a malformed file stops `serve`). See "
        "[docs/clients.md](docs/clients.md)",
        parsers.listed,
    )
    router_token: str | None = setting(
        "ORDERGATE_ROUTER_TOKEN",
        None,
        "a federation router that sends it in `X-Ordergate-Router-Token` reads `_service { sdl }` with "
        "introspection off and runs its query plans without the allow-list; users are still who the "
        "forwarded `Authorization` says; a wrong token is 401. 32+ characters outside the sandbox",
    )
    introspection: bool = setting(
        "ORDERGATE_INTROSPECTION",
        True,
        "answer introspection queries; off in production refuses them (`INTROSPECTION_DISABLED`)",
        parsers.flag,
    )
    field_suggestions: bool = setting(
        "ORDERGATE_FIELD_SUGGESTIONS",
        True,
        '"Did you mean ...?" in validation messages; off in production strips them',
        parsers.flag,
    )
    ws_connection_init_timeout_seconds: int = setting(
        "ORDERGATE_WS_INIT_TIMEOUT_SECONDS",
        5,
        "close WebSockets that send no `connection_init` in time",
        parsers.integer,
    )
    ws_keep_alive_seconds: int = setting(
        "ORDERGATE_WS_KEEPALIVE_SECONDS", 15, "WebSocket keep-alive interval", parsers.integer
    )
    metrics_token: str | None = setting(
        "ORDERGATE_METRICS_TOKEN",
        None,
        "when set, `/metrics` answers only a scraper that sends `Authorization: Bearer <token>` "
        "(401 otherwise)",
        shown="unset (open)",
    )
    log_level: str = setting("ORDERGATE_LOG_LEVEL", "INFO", "log level")
    log_format: str = setting(
        "ORDERGATE_LOG_FORMAT",
        "auto",
        "`json`: one object per line with the `request_id` (also sent back as `X-Request-Id`); `text` for a "
        "person; `auto`: text when the log goes to a terminal, else JSON",
        parsers.log_format,
    )
    otel_traces_endpoint: str | None = setting(
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
        None,
        "where spans go, OTLP over HTTP/protobuf, e.g. `http://collector:4318/v1/traces`; "
        'see "Observability"',
        parsers.url,
        shown="unset (no tracing)",
    )
    otel_endpoint: str | None = setting(
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        None,
        "the collector's base URL (`http://collector:4318`); spans go to its `/v1/traces` unless "
        "the variable above is set",
        parsers.url,
    )
    service_name: str = setting("OTEL_SERVICE_NAME", "ordergate", "`service.name` on every span")
    otel_sdk_disabled: bool = setting(
        "OTEL_SDK_DISABLED",
        False,
        "`true` turns tracing off even with an endpoint set",
        parsers.flag,
        shown="`false`",
    )
    outbox_relay: bool = setting(
        "ORDERGATE_OUTBOX_RELAY",
        True,
        "push promised work (ERP sales orders) from this process; off for API-only replicas",
        parsers.flag,
    )
    webhooks: WebhookSettings = group(WebhookSettings, "customer webhooks")
    email: EmailSettings = group(EmailSettings, "customer email")
    public_url: str = setting(
        "ORDERGATE_PUBLIC_URL",
        "http://127.0.0.1:8000",
        "where upstreams reach this gateway (webhook URLs, sandbox label links)",
        parsers.url,
        shown="`http://<--host>:<--port>` of `ordergate serve` (`http://127.0.0.1:8000` elsewhere)",
    )
    katana: KatanaSettings = group(KatanaSettings, "Katana (the ERP)")
    stripe: StripeSettings = group(StripeSettings, "the card payment provider")
    bigcommerce: BigCommerceSettings = group(BigCommerceSettings, "BigCommerce (the storefront)")
    storefront_sync_seconds: int = setting(
        "ORDERGATE_STOREFRONT_SYNC_SECONDS",
        300,
        "how often storefront orders and catalogue are re-read (the backfill, resumed); `0` turns it off",
        parsers.integer,
    )
    storefront_customer_seconds: int = setting(
        "ORDERGATE_STOREFRONT_CUSTOMER_SECONDS",
        60,
        "the most a replica serves what the storefront said about a customer (the name and record "
        "orders show) after asking it; the storefront is asked again after that, and a customer not "
        "kept while it cannot be reached is labelled as before; `0` asks for every answer",
        parsers.integer,
    )
    storefront_availability_seconds: int = setting(
        "ORDERGATE_STOREFRONT_AVAILABILITY_SECONDS",
        30,
        "at most this long before a change in what we can sell reaches the storefront's per-location stock; "
        "`0` turns it off",
        parsers.integer,
    )
    backorder_seconds: int = setting(
        "ORDERGATE_BACKORDER_SECONDS",
        30,
        "how often the stock of backordered SKUs is re-read from the ERP and units that arrived go to the "
        "lines waiting for them, work at positions a count left short of what is allocated is routed "
        "again, and spells of short stock are noted (an ERP webhook does all three at once); `0` turns it "
        "off",
        parsers.integer,
    )
    shipengine: ShipEngineSettings = group(ShipEngineSettings, "ShipEngine (a carrier)")
    ups: UpsSettings = group(UpsSettings, "UPS (a carrier)")
    default_carrier: str = setting(
        "ORDERGATE_DEFAULT_CARRIER",
        "shipengine",
        "the carrier `shipFulfillmentOrder` uses when none is named",
    )
    merchant_phone: str | None = setting(
        "ORDERGATE_MERCHANT_PHONE",
        None,
        "the merchant's phone, given to a carrier that requires one where a label's address and the node "
        "have none (a customer's return address without a phone, say)",
        shown="unset (the sandbox: `+1 800-555-0100`)",
    )
    sandbox_tracking_step_seconds: float = setting(
        "ORDERGATE_SANDBOX_TRACKING_STEP_SECONDS",
        30.0,
        "how often a sandbox parcel moves on (accepted, in transit, out for delivery, delivered)",
        parsers.seconds,
        shown="`30`",
    )
    sandbox_state: str | None = setting(
        "ORDERGATE_SANDBOX_STATE",
        None,
        "the directory where the sandboxes keep their state (stock, orders, labels and tracking, payment "
        "intents, id counters) across restarts; `off` keeps it in memory only. A fresh database (its file "
        "gone) sets the state there aside, so the sandboxes start fresh with it",
        parsers.directory_or_off,
        shown="beside an SQLite file (`./ordergate.sandbox/` for `./ordergate.db`); off for in-memory SQLite "
        "and PostgreSQL",
    )
    loyalty_points_per_unit: Decimal = setting(
        "ORDERGATE_LOYALTY_POINTS_PER_UNIT",
        Decimal("1"),
        "loyalty points per whole currency unit captured (rounded down per order); refunds take them back in "
        "proportion",
        parsers.amount,
    )
    appeasement_limit_agent: Decimal | None = setting(
        "ORDERGATE_APPEASEMENT_LIMIT_AGENT",
        Decimal("50.00"),
        "the most an agent may give in goodwill appeasements (`issueAppeasement`) on one order, all of them "
        "together (from anyone); `unlimited` for no limit",
        parsers.limit,
    )
    appeasement_limit_admin: Decimal | None = setting(
        "ORDERGATE_APPEASEMENT_LIMIT_ADMIN", None, "the same for admins", parsers.limit, shown="`unlimited`"
    )
    return_label_days: int = setting(
        "ORDERGATE_RETURN_LABEL_DAYS",
        14,
        "how long a customer has to send an approved return once its label is bought: a parcel the carrier "
        "has not picked up by then is not awaited any more (the return EXPIRED, its label voided for its "
        "refund; carriers refund unused labels only for a few weeks); `0` keeps returns waiting for good",
        parsers.integer,
    )

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Every declared setting from `env` (the process environment by default)."""
        return read(cls, os.environ if env is None else env)

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def otlp_traces_endpoint(self) -> str | None:
        """Where spans go (OTLP over HTTP), by the OpenTelemetry variables: the traces endpoint as
        given, else the base endpoint with `/v1/traces`; None (tracing off) without either, or with
        the SDK disabled."""
        if self.otel_sdk_disabled:
            return None
        if self.otel_traces_endpoint:
            return self.otel_traces_endpoint
        return f"{self.otel_endpoint}/v1/traces" if self.otel_endpoint else None

    @property
    def status_link_secret(self) -> str:
        """What order status links are signed with (its derived key, `models.links.link_key`)."""
        return self.link_secret or self.jwt_secret

    @property
    def accepts_hs256(self) -> bool:
        """HS256 tokens are verified with the secret, unless it is the development secret
        written in this file outside the sandbox (then only RS256, with the public key)."""
        return self.sandbox or self.jwt_secret != DEV_JWT_SECRET

    def check_serving(self) -> None:
        """Refuse to serve open: outside the sandbox, tokens must be signed with a key that is
        not in the source (ORDERGATE_JWT_SECRET of 32 characters or more, or RS256 with
        ORDERGATE_JWT_PUBLIC_KEY), and a router token must be as long. Raises SettingsError with
        what to set."""
        if self.sandbox:
            return
        if self.jwt_secret == DEV_JWT_SECRET:
            if self.jwt_public_key is None:
                raise SettingsError(
                    "ORDERGATE_JWT_SECRET is not set: with the sandbox off the gateway will not accept "
                    "tokens signed with the development secret. Set ORDERGATE_JWT_SECRET (32 or more random "
                    "characters, e.g. `python -c 'import secrets; print(secrets.token_hex(32))'`) or "
                    "ORDERGATE_JWT_PUBLIC_KEY for RS256 tokens."
                )
        elif len(self.jwt_secret) < MIN_JWT_SECRET_LENGTH:
            raise SettingsError(
                f"ORDERGATE_JWT_SECRET is {len(self.jwt_secret)} characters; with the sandbox off it must "
                f"be at least {MIN_JWT_SECRET_LENGTH}."
            )
        if self.link_secret is not None and len(self.link_secret) < MIN_JWT_SECRET_LENGTH:
            raise SettingsError(
                f"ORDERGATE_LINK_SECRET is {len(self.link_secret)} characters; with the sandbox off it must "
                f"be at least {MIN_JWT_SECRET_LENGTH}."
            )
        if self.link_secret is None and self.jwt_secret == DEV_JWT_SECRET:
            raise SettingsError(
                "ORDERGATE_LINK_SECRET is not set, and ORDERGATE_JWT_SECRET is the development secret: order "
                "status links would be signed with a key written in the source. Set ORDERGATE_LINK_SECRET "
                "(32 or more random characters)."
            )
        if self.router_token is not None and len(self.router_token) < MIN_JWT_SECRET_LENGTH:
            raise SettingsError(
                f"ORDERGATE_ROUTER_TOKEN is {len(self.router_token)} characters; with the sandbox off it "
                f"must be at least {MIN_JWT_SECRET_LENGTH} (it lifts the allow-list for whoever presents it)."
            )


# -- reading and documenting the declarations ------------------------------------------------------

D = TypeVar("D")


def _variable(spec: Field[Any]) -> Variable | None:
    found = spec.metadata.get("variable")
    return found if isinstance(found, Variable) else None


def read(kind: type[D], env: Mapping[str, str]) -> D:
    """An instance of the settings class `kind` (or a group of it) with every declared setting
    that `env` sets; unset or blank ones keep their default."""
    values: dict[str, Any] = {}
    derived: dict[str, str] = {}
    for spec in fields(kind):  # type: ignore[arg-type]  # kind is a dataclass by construction
        if "group" in spec.metadata:
            values[spec.name] = read(spec.metadata["group"], env)
            continue
        variable = _variable(spec)
        if variable is None:
            continue
        raw = env.get(variable.env)
        if raw is None or not raw.strip():
            if variable.default_from is not None:
                derived[spec.name] = variable.default_from
            continue
        try:
            values[spec.name] = variable.parse(raw)
        except ValueError as error:
            raise SettingsError(f"{variable.env} {error}") from None
    for name, source in derived.items():
        values[name] = values[source] if source in values else _default(kind, source)
    return kind(**values)


def _default(kind: type[Any], name: str) -> Any:
    spec = next(spec for spec in fields(kind) if spec.name == name)
    return spec.default if spec.default is not MISSING else None


def declarations(kind: type[Any] = Settings) -> Iterator[tuple[str, Field[Any], Variable]]:
    """Every declared setting, in declaration order, groups inline: (dotted field, field, variable)."""
    for spec in fields(kind):
        if "group" in spec.metadata:
            for name, inner, variable in declarations(spec.metadata["group"]):
                yield f"{spec.name}.{name}", inner, variable
            continue
        declared = _variable(spec)
        if declared is not None:
            yield spec.name, spec, declared


def _shown(spec: Field[Any], variable: Variable) -> str:
    if variable.shown is not None:
        return variable.shown
    value = spec.default
    if value is None or value == ():
        return "unset"
    if isinstance(value, bool):
        return "`on`" if value else "`off`"
    return f"`{value}`"


def settings_table() -> str:
    """The README's table of environment variables, from the declarations."""
    rows = ["| variable | default | meaning |", "|---|---|---|"]
    for _, spec, variable in declarations():
        meaning = variable.meaning.replace("|", "\\|")
        rows.append(f"| `{variable.env}` | {_shown(spec, variable)} | {meaning} |")
    return "\n".join(rows) + "\n"


README_START = "<!-- settings:start: generated from ordergate/settings.py by `make readme` -->"
README_END = "<!-- settings:end -->"


def with_settings_table(readme: str) -> str:
    """`readme` with the table between its settings markers rewritten from the declarations."""
    start, end = readme.find(README_START), readme.find(README_END)
    if start < 0 or end < start:
        raise SettingsError(f"the README has no {README_START!r} ... {README_END!r} markers")
    return readme[: start + len(README_START)] + "\n" + settings_table() + readme[end:]

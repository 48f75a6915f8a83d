"""One frozen settings object, read from the environment once at start."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./ordergate.db"
DEV_JWT_SECRET = "ordergate-dev-secret-change-me-0123456789abcdef"  # noqa: S105
MIN_JWT_SECRET_LENGTH = 32  # HS256 keys shorter than the hash (256 bits) are guessable offline


class SettingsError(ValueError):
    """A setting is present but cannot be used."""


def _flag(value: str | None, *, default: bool) -> bool:
    if value is None or value == "":
        return default
    lowered = value.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise SettingsError(f"not a boolean: {value!r}")


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise SettingsError(f"{name} must be an integer, not {raw!r}") from exc


def _decimal(env: Mapping[str, str], name: str, default: Decimal) -> Decimal:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = Decimal(raw.strip())
    except ArithmeticError as exc:
        raise SettingsError(f"{name} must be a decimal number, not {raw!r}") from exc
    if not value.is_finite() or value < 0:
        raise SettingsError(f"{name} must be a number of at least zero, not {raw!r}")
    return value


def _limit(env: Mapping[str, str], name: str, default: Decimal | None) -> Decimal | None:
    """An amount, or no limit at all (`unlimited`)."""
    raw = (env.get(name) or "").strip()
    if not raw:
        return default
    return None if raw.lower() == "unlimited" else _decimal(env, name, Decimal("0"))


def _otlp_traces_endpoint(env: Mapping[str, str]) -> str | None:
    """Where spans go (OTLP over HTTP), by the OpenTelemetry variables: the traces endpoint as
    given, else the base endpoint with `/v1/traces`; None (tracing off) without either, or with
    the SDK disabled."""
    if _flag(env.get("OTEL_SDK_DISABLED"), default=False):
        return None
    traces = (env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or "").strip()
    if traces:
        return traces
    base = (env.get("OTEL_EXPORTER_OTLP_ENDPOINT") or "").strip()
    return f"{base.rstrip('/')}/v1/traces" if base else None


@dataclass(frozen=True)
class Settings:
    """Everything the composition root needs to build the gateway."""

    database_url: str = DEFAULT_DATABASE_URL
    redis_url: str | None = None
    jwt_secret: str = DEV_JWT_SECRET
    jwt_public_key: str | None = None
    jwt_issuer: str = "ordergate"
    token_ttl_seconds: int = 8 * 3600
    sandbox: bool = True
    seed_demo_data: bool = True
    auto_migrate: bool = True
    graphiql: bool = True
    currency: str = "USD"
    free_shipping_threshold: Decimal = Decimal("75.00")
    flat_shipping_rate: Decimal = Decimal("7.95")
    max_line_quantity: int = 999
    max_lines_per_order: int = 100
    page_size_cap: int = 250
    max_query_depth: int = 12
    max_query_aliases: int = 30
    max_query_tokens: int = 2000
    max_query_cost: int = 1000
    max_query_fields: int = 2000
    max_input_list: int = 250
    max_body_bytes: int = 1_048_576
    metrics_token: str | None = None
    query_budget: int = 1000
    query_budget_restore_rate: int = 50
    introspection: bool = True
    persisted_queries: str = "apq"
    operations_path: str | None = None
    trusted_documents: tuple[str, ...] = ()
    router_token: str | None = None
    field_suggestions: bool = True
    ws_connection_init_timeout_seconds: int = 5
    ws_keep_alive_seconds: int = 15
    log_level: str = "INFO"
    log_format: str = "json"
    katana_url: str | None = None
    katana_token: str | None = None
    katana_webhook_secrets: tuple[str, ...] = ()
    stripe_url: str = "https://api.stripe.com"
    stripe_key: str | None = None
    bigcommerce_url: str | None = None
    bigcommerce_token: str | None = None
    bigcommerce_webhook_secrets: tuple[str, ...] = ()
    storefront_sync_seconds: int = 300
    storefront_availability_seconds: int = 30
    public_url: str = "http://127.0.0.1:8000"
    outbox_relay: bool = True
    webhooks_allow_private: bool = False
    shipengine_url: str | None = None
    shipengine_key: str | None = None
    ups_url: str | None = None
    ups_client_id: str | None = None
    ups_client_secret: str | None = None
    ups_account: str | None = None
    default_carrier: str = "shipengine"
    shipengine_webhook_secret: str | None = None
    ups_webhook_credential: str | None = None
    sandbox_tracking_step_seconds: float = 30.0
    tax_rules_path: str | None = None
    fraud_threshold: int = 70
    fraud_blocklist: tuple[str, ...] = ()
    edit_window_minutes: int = 60
    loyalty_points_per_unit: Decimal = Decimal("1")
    appeasement_limit_agent: Decimal | None = Decimal("50.00")
    appeasement_limit_admin: Decimal | None = None
    otlp_traces_endpoint: str | None = None
    service_name: str = "ordergate"
    extra: Mapping[str, str] = field(default_factory=dict)

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

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
        if self.router_token is not None and len(self.router_token) < MIN_JWT_SECRET_LENGTH:
            raise SettingsError(
                f"ORDERGATE_ROUTER_TOKEN is {len(self.router_token)} characters; with the sandbox off it "
                f"must be at least {MIN_JWT_SECRET_LENGTH} (it lifts the allow-list for whoever presents it)."
            )

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        database_url = env.get("DATABASE_URL") or DEFAULT_DATABASE_URL
        if database_url.startswith(("postgres://", "postgresql://")):
            database_url = "postgresql+asyncpg://" + database_url.split("://", 1)[1]
        sandbox = _flag(env.get("ORDERGATE_SANDBOX"), default=True)
        public_key = env.get("ORDERGATE_JWT_PUBLIC_KEY") or None
        if public_key and not public_key.lstrip().startswith("-----BEGIN"):
            public_key = Path(public_key).read_text()
        return cls(
            database_url=database_url,
            otlp_traces_endpoint=_otlp_traces_endpoint(env),
            service_name=env.get("OTEL_SERVICE_NAME") or "ordergate",
            redis_url=env.get("REDIS_URL") or None,
            jwt_secret=env.get("ORDERGATE_JWT_SECRET") or DEV_JWT_SECRET,
            jwt_public_key=public_key,
            token_ttl_seconds=_int(env, "ORDERGATE_TOKEN_TTL_SECONDS", 8 * 3600),
            sandbox=sandbox,
            seed_demo_data=_flag(env.get("ORDERGATE_SEED"), default=sandbox),
            auto_migrate=_flag(env.get("ORDERGATE_AUTO_MIGRATE"), default=True),
            graphiql=_flag(env.get("ORDERGATE_GRAPHIQL"), default=True),
            currency=env.get("ORDERGATE_CURRENCY") or "USD",
            page_size_cap=_int(env, "ORDERGATE_PAGE_SIZE_CAP", 250),
            max_query_depth=_int(env, "ORDERGATE_MAX_QUERY_DEPTH", 12),
            max_query_aliases=_int(env, "ORDERGATE_MAX_QUERY_ALIASES", 30),
            max_query_tokens=_int(env, "ORDERGATE_MAX_QUERY_TOKENS", 2000),
            max_query_cost=_int(env, "ORDERGATE_MAX_QUERY_COST", 1000),
            max_query_fields=_int(env, "ORDERGATE_MAX_QUERY_FIELDS", 2000),
            max_input_list=_int(env, "ORDERGATE_MAX_INPUT_LIST", 250),
            max_body_bytes=_int(env, "ORDERGATE_MAX_BODY_BYTES", 1_048_576),
            metrics_token=env.get("ORDERGATE_METRICS_TOKEN") or None,
            query_budget=_int(env, "ORDERGATE_QUERY_BUDGET", 1000),
            query_budget_restore_rate=_int(env, "ORDERGATE_QUERY_BUDGET_RESTORE_RATE", 50),
            introspection=_flag(env.get("ORDERGATE_INTROSPECTION"), default=True),
            persisted_queries=(env.get("ORDERGATE_PERSISTED_QUERIES") or "apq").strip().lower(),
            operations_path=env.get("ORDERGATE_OPERATIONS_PATH") or None,
            trusted_documents=tuple(
                p.strip() for p in (env.get("ORDERGATE_TRUSTED_DOCUMENTS") or "").split(",") if p.strip()
            ),
            router_token=env.get("ORDERGATE_ROUTER_TOKEN") or None,
            field_suggestions=_flag(env.get("ORDERGATE_FIELD_SUGGESTIONS"), default=True),
            ws_connection_init_timeout_seconds=_int(env, "ORDERGATE_WS_INIT_TIMEOUT_SECONDS", 5),
            ws_keep_alive_seconds=_int(env, "ORDERGATE_WS_KEEPALIVE_SECONDS", 15),
            log_level=env.get("ORDERGATE_LOG_LEVEL") or "INFO",
            log_format="text"
            if (env.get("ORDERGATE_LOG_FORMAT") or "json").strip().lower() == "text"
            else "json",
            katana_url=env.get("ORDERGATE_KATANA_URL") or None,
            katana_token=env.get("ORDERGATE_KATANA_TOKEN") or None,
            katana_webhook_secrets=tuple(
                s.strip() for s in (env.get("ORDERGATE_KATANA_WEBHOOK_SECRET") or "").split(",") if s.strip()
            ),
            stripe_url=(env.get("ORDERGATE_STRIPE_URL") or "https://api.stripe.com").rstrip("/"),
            stripe_key=env.get("ORDERGATE_STRIPE_KEY") or None,
            bigcommerce_url=(env.get("ORDERGATE_BIGCOMMERCE_URL") or "").rstrip("/") or None,
            bigcommerce_token=env.get("ORDERGATE_BIGCOMMERCE_TOKEN") or None,
            bigcommerce_webhook_secrets=tuple(
                s.strip()
                for s in (env.get("ORDERGATE_BIGCOMMERCE_WEBHOOK_SECRET") or "").split(",")
                if s.strip()
            ),
            storefront_sync_seconds=_int(env, "ORDERGATE_STOREFRONT_SYNC_SECONDS", 300),
            storefront_availability_seconds=_int(env, "ORDERGATE_STOREFRONT_AVAILABILITY_SECONDS", 30),
            public_url=(env.get("ORDERGATE_PUBLIC_URL") or "http://127.0.0.1:8000").rstrip("/"),
            outbox_relay=_flag(env.get("ORDERGATE_OUTBOX_RELAY"), default=True),
            webhooks_allow_private=_flag(env.get("ORDERGATE_WEBHOOKS_ALLOW_PRIVATE"), default=False),
            shipengine_url=env.get("ORDERGATE_SHIPENGINE_URL") or None,
            shipengine_key=env.get("ORDERGATE_SHIPENGINE_KEY") or None,
            ups_url=env.get("ORDERGATE_UPS_URL") or None,
            ups_client_id=env.get("ORDERGATE_UPS_CLIENT_ID") or None,
            ups_client_secret=env.get("ORDERGATE_UPS_CLIENT_SECRET") or None,
            ups_account=env.get("ORDERGATE_UPS_ACCOUNT") or None,
            default_carrier=env.get("ORDERGATE_DEFAULT_CARRIER") or "shipengine",
            shipengine_webhook_secret=env.get("ORDERGATE_SHIPENGINE_WEBHOOK_SECRET") or None,
            ups_webhook_credential=env.get("ORDERGATE_UPS_WEBHOOK_CREDENTIAL") or None,
            sandbox_tracking_step_seconds=float(_int(env, "ORDERGATE_SANDBOX_TRACKING_STEP_SECONDS", 30)),
            tax_rules_path=env.get("ORDERGATE_TAX_RULES") or None,
            fraud_threshold=_int(env, "ORDERGATE_FRAUD_THRESHOLD", 70),
            fraud_blocklist=tuple(
                s.strip().lower()
                for s in (env.get("ORDERGATE_FRAUD_BLOCKLIST") or "").split(",")
                if s.strip()
            ),
            edit_window_minutes=_int(env, "ORDERGATE_EDIT_WINDOW_MINUTES", 60),
            loyalty_points_per_unit=_decimal(env, "ORDERGATE_LOYALTY_POINTS_PER_UNIT", Decimal("1")),
            appeasement_limit_agent=_limit(env, "ORDERGATE_APPEASEMENT_LIMIT_AGENT", Decimal("50.00")),
            appeasement_limit_admin=_limit(env, "ORDERGATE_APPEASEMENT_LIMIT_ADMIN", None),
        )

"""Settings are declared once (`ordergate/settings.py`): each is read from its variable,
parsed, refused by name when it cannot be used, grouped per upstream, and documented in the
README table generated from the same declarations."""

from __future__ import annotations

from dataclasses import fields
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from ordergate.cli import main
from ordergate.settings import (
    README_END,
    README_START,
    Settings,
    SettingsError,
    declarations,
    settings_table,
    with_settings_table,
)

ROOT = Path(__file__).resolve().parents[1]

# A value for each kind of parser, and what it reads as.
SAMPLES: dict[str, tuple[str, Any]] = {
    "DATABASE_URL": ("postgres://u@h/db", "postgresql+asyncpg://u@h/db"),
    "ORDERGATE_JWT_PUBLIC_KEY": ("-----BEGIN PUBLIC KEY-----\nx", "-----BEGIN PUBLIC KEY-----\nx"),
    "ORDERGATE_SANDBOX": ("off", False),
    "ORDERGATE_SEED": ("yes", True),
    "ORDERGATE_TOKEN_TTL_SECONDS": (" 60 ", 60),
    "ORDERGATE_FREE_SHIPPING_THRESHOLD": ("100", Decimal("100")),
    "ORDERGATE_APPEASEMENT_LIMIT_AGENT": ("unlimited", None),
    "ORDERGATE_APPEASEMENT_LIMIT_ADMIN": ("20.50", Decimal("20.50")),
    "ORDERGATE_FRAUD_BLOCKLIST": ("A@X.com, @Y.net,,", ("a@x.com", "@y.net")),
    "ORDERGATE_KATANA_WEBHOOK_SECRET": ("one, two", ("one", "two")),
    "ORDERGATE_KATANA_URL": ("https://katana.example/v1/", "https://katana.example/v1"),
    "ORDERGATE_PERSISTED_QUERIES": (" AllowList ", "allowlist"),
    "ORDERGATE_LOG_FORMAT": ("TEXT", "text"),
    "ORDERGATE_EMAIL_FROM": (" sales@Shop.Example ", "sales@shop.example"),
    "ORDERGATE_EMAIL_REPLY_TO": ("aide@exämple.fr", "aide@exämple.fr"),
    "ORDERGATE_SANDBOX_TRACKING_STEP_SECONDS": ("5", 5.0),
    "ORDERGATE_SPLIT_LIMIT": ("3", 3),
    "ORDERGATE_DATABASE_CONNECTIONS": (" 12 ", 12),
    "ORDERGATE_SPLIT_LIMITS": (" web=3, marketplace = 1 ", (("marketplace", 1), ("web", 3))),
}


def value_at(settings: Settings, dotted: str) -> Any:
    found: Any = settings
    for part in dotted.split("."):
        found = getattr(found, part)
    return found


def test_every_declared_variable_is_read_into_its_field() -> None:
    declared = list(declarations())
    env = {variable.env: SAMPLES.get(variable.env, ("set-by-test", None))[0] for _, _, variable in declared}
    env["ORDERGATE_TAX_RULES"] = "rules.json"  # a path: read later, by bootstrap
    numbers = {"integer", "seconds"}
    for _, spec, variable in declared:
        if variable.env not in SAMPLES and variable.parse.__name__ in numbers:
            env[variable.env] = "7"
        elif variable.env not in SAMPLES and variable.parse.__name__ in {"flag"}:
            env[variable.env] = "on" if spec.default is False else "off"
        elif variable.env not in SAMPLES and variable.parse.__name__ in {"amount", "limit"}:
            env[variable.env] = "3"

    settings = Settings.from_env(env)

    unread = [
        variable.env
        for dotted, spec, variable in declared
        if value_at(settings, dotted) == spec.default and variable.default_from is None
    ]
    assert unread == []
    for dotted, _, variable in declared:
        if variable.env in SAMPLES:
            assert value_at(settings, dotted) == SAMPLES[variable.env][1], variable.env


def test_unset_and_blank_variables_keep_the_defaults() -> None:
    assert Settings.from_env({}) == Settings()
    assert Settings.from_env({variable.env: "  " for _, _, variable in declarations()}) == Settings()


def test_seeding_follows_the_sandbox_unless_it_is_set() -> None:
    assert Settings.from_env({"ORDERGATE_SANDBOX": "off"}).seed_demo_data is False
    assert Settings.from_env({"ORDERGATE_SANDBOX": "off", "ORDERGATE_SEED": "on"}).seed_demo_data is True
    assert Settings.from_env({}).seed_demo_data is True


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("ORDERGATE_SANDBOX", "maybe"),
        ("ORDERGATE_MAX_QUERY_DEPTH", "twelve"),
        ("ORDERGATE_LOYALTY_POINTS_PER_UNIT", "-1"),
        ("ORDERGATE_APPEASEMENT_LIMIT_AGENT", "lots"),
        ("ORDERGATE_JWT_PUBLIC_KEY", "/nowhere/key.pem"),
        # an address alone: a display name here went out as `Name <Shop <orders@...>>`
        ("ORDERGATE_EMAIL_FROM", "Shop <orders@shop.example>"),
        ("ORDERGATE_EMAIL_REPLY_TO", "support"),
    ],
)
def test_a_value_that_cannot_be_used_is_refused_by_its_variable(variable: str, value: str) -> None:
    with pytest.raises(SettingsError, match=variable):
        Settings.from_env({variable: value})


def test_each_upstream_has_its_group() -> None:
    settings = Settings.from_env(
        {
            "ORDERGATE_KATANA_TOKEN": "k",
            "ORDERGATE_BIGCOMMERCE_TOKEN": "b",
            "ORDERGATE_STRIPE_KEY": "s",
            "ORDERGATE_SHIPENGINE_KEY": "e",
            "ORDERGATE_UPS_ACCOUNT": "u",
            "ORDERGATE_WEBHOOKS_ALLOW_PRIVATE": "on",
            "ORDERGATE_SMTP_URL": "smtp://mail.example:587",
        }
    )

    groups = {spec.name for spec in fields(Settings) if "group" in spec.metadata}
    assert groups == {"katana", "bigcommerce", "stripe", "shipengine", "ups", "webhooks", "email"}
    assert settings.email.smtp_url == "smtp://mail.example:587"
    assert (settings.katana.token, settings.bigcommerce.token, settings.stripe.key) == ("k", "b", "s")
    assert (settings.shipengine.key, settings.ups.account, settings.webhooks.allow_private) == (
        "e",
        "u",
        True,
    )


def test_every_variable_is_declared_once() -> None:
    names = [variable.env for _, _, variable in declarations()]
    assert len(names) == len(set(names))


def test_the_readme_table_is_the_one_the_declarations_make() -> None:
    readme = (ROOT / "README.md").read_text()

    assert with_settings_table(readme) == readme, "run `make readme`"
    for _, _, variable in declarations():
        assert f"| `{variable.env}` |" in readme


def test_rewriting_the_readme_replaces_only_the_table() -> None:
    stale = f"# title\n{README_START}\n| old |\n{README_END}\nafter\n"

    rewritten = with_settings_table(stale)

    assert rewritten == f"# title\n{README_START}\n{settings_table()}{README_END}\nafter\n"
    with pytest.raises(SettingsError, match="markers"):
        with_settings_table("no markers here")


def test_the_cli_prints_the_table_and_rewrites_a_readme(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for _, _, variable in declarations():
        monkeypatch.delenv(variable.env, raising=False)
    readme = tmp_path / "README.md"
    readme.write_text(f"intro\n{README_START}\n{README_END}\n")

    assert main(["settings"]) == 0
    printed = capsys.readouterr().out
    assert main(["settings", "--write-readme", str(readme)]) == 0

    assert printed == settings_table()
    assert readme.read_text() == f"intro\n{README_START}\n{settings_table()}{README_END}\n"


@pytest.mark.parametrize(
    ("env", "raw"),
    [
        ("ORDERGATE_SPLIT_LIMIT", "0"),
        ("ORDERGATE_SPLIT_LIMITS", "web"),
        ("ORDERGATE_SPLIT_LIMITS", "web=0"),
        ("ORDERGATE_SPLIT_LIMITS", "=2"),
    ],
)
def test_a_split_limit_below_one_or_not_channel_count_pairs_is_refused(env: str, raw: str) -> None:
    with pytest.raises(SettingsError, match=env):
        Settings.from_env({env: raw})

"""Static checks of Dockerfile, .dockerignore and docker-compose.yml (no Docker engine needed).

They pin what the container files promise (a slim Python 3.11 multi-stage build that runs as a non-root
user, two gateway replicas on PostgreSQL and Redis behind a one-shot migration) and keep the environment
the compose file passes in step with what `ordergate/settings.py` actually reads.
"""

from __future__ import annotations

import ast
import json
import re
import shlex
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from ordergate.settings import DEV_JWT_SECRET, Settings

yaml = pytest.importorskip("yaml", reason="PyYAML (installed with uvicorn[standard]) parses the compose file")

ROOT = Path(__file__).resolve().parents[1]
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
COMPOSE_FILE = ROOT / "docker-compose.yml"
SETTINGS_SOURCE = ROOT / "ordergate" / "settings.py"

GATEWAYS = ("gateway-1", "gateway-2")
SLIM_311 = re.compile(r"^python:3\.11(\.\d+)?-slim(-[a-z]+)?(@sha256:[0-9a-f]{64})?$")
ENV_NAME = re.compile(r"^[A-Z][A-Z0-9_]*$")
INTERPOLATION = re.compile(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?::?-(?P<default>[^}]*))?\}")


# --- Dockerfile ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Instruction:
    keyword: str
    args: str


def parse_dockerfile(text: str) -> list[Instruction]:
    """Instructions in order: `\\` continuations joined, comments (and the syntax directive) dropped."""
    instructions: list[Instruction] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if pending and line.startswith("#"):
            continue  # a comment inside a continued instruction
        if line.endswith("\\"):
            pending += line[:-1].strip() + " "
            continue
        whole = (pending + line).strip()
        pending = ""
        keyword, _, args = whole.partition(" ")
        instructions.append(Instruction(keyword.upper(), args.strip()))
    assert not pending, "the Dockerfile ends inside a continued line"
    return instructions


def stages(instructions: list[Instruction]) -> list[list[Instruction]]:
    """The build stages, each starting with its FROM."""
    result: list[list[Instruction]] = []
    for instruction in instructions:
        if instruction.keyword == "FROM":
            result.append([])
        assert result, f"{instruction.keyword} before the first FROM"
        result[-1].append(instruction)
    return result


def exec_form(args: str) -> list[str]:
    value = json.loads(args)
    assert isinstance(value, list), f"not an exec-form (JSON array) instruction: {args}"
    assert all(isinstance(item, str) for item in value)
    return [str(item) for item in value]


@pytest.fixture(scope="module")
def dockerfile() -> list[Instruction]:
    return parse_dockerfile(DOCKERFILE.read_text())


@pytest.fixture(scope="module")
def final_stage(dockerfile: list[Instruction]) -> list[Instruction]:
    return stages(dockerfile)[-1]


def only(stage: list[Instruction], keyword: str) -> Instruction:
    found = [instruction for instruction in stage if instruction.keyword == keyword]
    assert len(found) == 1, f"expected one {keyword} in the final stage, found {len(found)}"
    return found[0]


def test_dockerfile_builds_a_wheel_on_python_311_slim_in_a_separate_stage(
    dockerfile: list[Instruction],
) -> None:
    all_stages = stages(dockerfile)
    assert len(all_stages) >= 2, "multi-stage: a builder and a runtime stage"
    names: set[str] = set()
    for stage in all_stages:
        base, *rest = stage[0].args.split()
        if base.lower() not in names:
            assert SLIM_311.match(base), f"{base} is not an official python:3.11 slim image"
        if len(rest) == 2 and rest[0].upper() == "AS":
            names.add(rest[1].lower())
    builder_runs = " ".join(i.args for stage in all_stages[:-1] for i in stage if i.keyword == "RUN")
    assert re.search(r"\bpip wheel\b|\bpython -m build\b", builder_runs), "the builder builds wheels"
    final_runs = [i.args for i in all_stages[-1] if i.keyword == "RUN"]
    installs = [run for run in final_runs if "pip install" in run]
    assert installs, "the final stage installs the built wheel"
    assert any(re.search(r"from=\w+", run) for run in installs) or any(
        i.keyword == "COPY" and "--from=" in i.args for i in all_stages[-1]
    ), "the final stage takes the wheels from an earlier stage"
    for run in final_runs:
        for tool in ("build-essential", "gcc", "apt-get install"):
            assert tool not in run, f"the runtime stage should not install {tool!r}"


def test_dockerfile_runtime_settings(final_stage: list[Instruction]) -> None:
    assert only(final_stage, "WORKDIR").args == "/app"
    env = " ".join(i.args for i in final_stage if i.keyword == "ENV")
    assert re.search(r"\bPYTHONUNBUFFERED=1\b", env)
    assert only(final_stage, "EXPOSE").args.split() == ["8000"]


def test_dockerfile_makes_the_sqlite_location_writable(final_stage: list[Instruction]) -> None:
    runs = " ".join(i.args for i in final_stage if i.keyword == "RUN")
    user = only(final_stage, "USER").args.split(":")[0]
    chowned = re.findall(rf"chown (?:-R )?{re.escape(user)}(?::\S+)? ([^&;]+)", runs)
    paths = {path for group in chowned for path in group.split()}
    assert "/app" in paths, "the working directory (where ./ordergate.db lands) belongs to the app user"
    env = " ".join(i.args for i in final_stage if i.keyword == "ENV")
    default_db = re.search(r"DATABASE_URL=sqlite\+aiosqlite:///(/\S+)/[^/\s]+\.db", env)
    if default_db:
        assert default_db.group(1) in paths, "the default SQLite directory belongs to the app user"


def test_dockerfile_runs_as_a_non_root_user_before_cmd(final_stage: list[Instruction]) -> None:
    keywords = [i.keyword for i in final_stage]
    assert "CMD" in keywords
    users = [i for i in final_stage[: keywords.index("CMD")] if i.keyword == "USER"]
    assert users, "USER is set before CMD"
    name = users[-1].args.split(":")[0]
    assert name not in {"root", "0"}


def test_dockerfile_healthcheck_calls_healthz_with_urllib(final_stage: list[Instruction]) -> None:
    check = only(final_stage, "HEALTHCHECK").args
    assert "curl" not in check, "python:3.11-slim has no curl"
    assert "wget" not in check, "python:3.11-slim has no wget"
    command = exec_form(check[check.index("CMD") + len("CMD") :].strip())
    assert command[:2] == ["python", "-c"]
    code = command[2]
    assert "urllib" in code
    assert re.search(r"http://(127\.0\.0\.1|localhost):8000/healthz", code)
    compile(code, "<HEALTHCHECK>", "exec")  # a syntax error would leave every container unhealthy


@contextmanager
def http_server(healthz_status: int) -> Iterator[int]:
    """A local server answering `healthz_status` on /healthz and 404 elsewhere; yields its port."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            status = healthz_status if self.path == "/healthz" else 404
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.mark.parametrize(("status", "healthy"), [(200, True), (503, False), (None, False)])
def test_dockerfile_healthcheck_passes_only_on_a_healthy_answer(
    final_stage: list[Instruction], status: int | None, healthy: bool
) -> None:
    check = only(final_stage, "HEALTHCHECK").args
    code = exec_form(check[check.index("CMD") + len("CMD") :].strip())[2]

    def run(port: int) -> int:
        moved = re.sub(r"(127\.0\.0\.1|localhost):8000/", f"127.0.0.1:{port}/", code)
        return subprocess.run([sys.executable, "-c", moved], capture_output=True, timeout=30).returncode

    if status is None:  # nothing listening (the process is down)
        with http_server(200) as port:
            pass
        returncode = run(port)
    else:
        with http_server(status) as port:
            returncode = run(port)
    assert (returncode == 0) is healthy


def test_dockerfile_cmd_serves_on_all_interfaces(final_stage: list[Instruction]) -> None:
    command = exec_form(only(final_stage, "CMD").args)
    assert command[:2] == ["ordergate", "serve"]
    assert command[command.index("--host") + 1] == "0.0.0.0"  # noqa: S104 (inside the container)
    assert command[command.index("--port") + 1] == only(final_stage, "EXPOSE").args


def test_dockerignore_keeps_junk_out_and_the_build_inputs_in() -> None:
    patterns = [
        line.strip()
        for line in DOCKERIGNORE.read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]

    def matcher(pattern: str) -> re.Pattern[str]:
        """Docker's syntax: `*` and `?` stay inside one path segment, `**` spans any number of them."""
        body, rest = "", pattern.removeprefix("/")
        while rest:
            if rest.startswith("**/"):
                body, rest = body + "(?:.*/)?", rest[3:]
            elif rest.startswith("**"):
                body, rest = body + ".*", rest[2:]
            elif rest[0] == "*":
                body, rest = body + "[^/]*", rest[1:]
            elif rest[0] == "?":
                body, rest = body + "[^/]", rest[1:]
            else:
                body, rest = body + re.escape(rest[0]), rest[1:]
        return re.compile(body)

    rules = [(line.startswith("!"), matcher(line.lstrip("!"))) for line in patterns]

    def ignored(path: str) -> bool:
        """Whether `path` is left out: a pattern matching a directory leaves out all it contains."""
        parts = path.split("/")
        prefixes = ["/".join(parts[: n + 1]) for n in range(len(parts))]
        state = False
        for negate, rule in rules:
            if any(rule.fullmatch(prefix) for prefix in prefixes):
                state = not negate
        return state

    for junk in (".venv/bin/python", ".git/HEAD", "ordergate.db", "node_modules/x/index.js"):
        assert ignored(junk), f"{junk} should not be sent to the Docker daemon"
    for cache in (".mypy_cache/x", ".pytest_cache/x", ".ruff_cache/x", "ordergate/__pycache__/app.pyc"):
        assert ignored(cache), f"{cache} should not be sent to the Docker daemon"
    needed = [
        "pyproject.toml",
        "README.md",
        "ordergate/__init__.py",
        "ordergate/py.typed",
        "ordergate/schema/schema.graphql",
        "ordergate/store/migrations/env.py",
        "ordergate/store/migrations/versions/0001_initial_schema.py",
        "ordergate/graphiql/static/graphiql.min.js",
    ]
    for path in needed:
        assert not ignored(path), f"{path} is needed to build the wheel"


# --- docker-compose.yml -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    document = yaml.safe_load(COMPOSE_FILE.read_text())
    assert isinstance(document, dict)
    assert isinstance(document.get("services"), dict)
    return document


def service(compose: dict[str, Any], name: str) -> dict[str, Any]:
    definition = compose["services"].get(name)
    assert isinstance(definition, dict), f"no service {name!r}"
    return definition


def environment(definition: dict[str, Any]) -> dict[str, str]:
    """A service's environment in either of compose's forms (mapping or `NAME=value` list)."""
    raw = definition.get("environment") or {}
    if isinstance(raw, list):
        pairs = [str(item).partition("=") for item in raw]
        return {name: value for name, _, value in pairs}
    return {str(name): "" if value is None else str(value) for name, value in raw.items()}


def interpolate(value: str, env: dict[str, str] | None = None) -> str:
    """Compose's `${NAME}` / `${NAME:-default}` with the given (by default empty) shell environment."""
    env = env or {}
    return INTERPOLATION.sub(lambda m: env.get(m["name"]) or (m["default"] or ""), value)


def command_text(definition: dict[str, Any]) -> str:
    command = definition.get("command")
    if isinstance(command, list):
        return " ".join(str(part) for part in command)
    return str(command or "")


def builds_dockerfile(definition: dict[str, Any]) -> bool:
    build = definition.get("build")
    if isinstance(build, str):
        context, dockerfile = build, "Dockerfile"
    elif isinstance(build, dict):
        context, dockerfile = str(build.get("context", ".")), str(build.get("dockerfile", "Dockerfile"))
    else:
        return False
    return (COMPOSE_FILE.parent / context / dockerfile).resolve() == DOCKERFILE.resolve()


def settings_env_names() -> set[str]:
    """Every environment variable name `ordergate/settings.py` passes to a call (env.get, _int(env, ...))."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(SETTINGS_SOURCE.read_text())):
        if isinstance(node, ast.Call):
            for arg in node.args:
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str) and ENV_NAME.match(arg.value):
                    names.add(arg.value)
    return names


def test_compose_has_exactly_two_gateways_built_from_the_dockerfile(compose: dict[str, Any]) -> None:
    built = {
        name: definition for name, definition in compose["services"].items() if builds_dockerfile(definition)
    }
    # A gateway runs the image's CMD (`ordergate serve`) or names `serve` itself; `migrate` runs once.
    serving = sorted(name for name, d in built.items() if not d.get("command") or "serve" in command_text(d))
    assert serving == list(GATEWAYS)


def test_gateways_share_one_definition_apart_from_ports(compose: dict[str, Any]) -> None:
    first, second = ({k: v for k, v in service(compose, n).items() if k != "ports"} for n in GATEWAYS)
    assert first == second
    assert re.search(r"^\s+<<: \*\w+", COMPOSE_FILE.read_text(), re.MULTILINE), "uses a YAML anchor"


def test_gateways_publish_distinct_host_ports_onto_the_exposed_port(
    compose: dict[str, Any], final_stage: list[Instruction]
) -> None:
    exposed = only(final_stage, "EXPOSE").args
    host_ports: list[str] = []
    for name in GATEWAYS:
        ports = service(compose, name).get("ports")
        assert isinstance(ports, list), f"{name} publishes its port"
        assert len(ports) == 1, f"{name} publishes one port"
        host, _, container = str(ports[0]).rpartition(":")
        assert container == exposed
        host_ports.append(host.rpartition(":")[2])
    assert sorted(host_ports) == ["8001", "8002"]


def test_gateways_get_postgres_and_redis(compose: dict[str, Any]) -> None:
    for name in GATEWAYS:
        env = environment(service(compose, name))
        assert env["DATABASE_URL"].startswith("postgresql+asyncpg://")
        assert "@postgres:5432/" in env["DATABASE_URL"]
        assert env["REDIS_URL"].startswith("redis://redis:6379")
        assert env["ORDERGATE_AUTO_MIGRATE"] == "0", "the migrate service owns the schema"
        assert env["ORDERGATE_SEED"] == "1"
        assert INTERPOLATION.fullmatch(env["ORDERGATE_JWT_SECRET"]), "the JWT secret comes from the shell"


def test_gateway_environment_means_what_compose_intends_to_the_settings(compose: dict[str, Any]) -> None:
    env = {name: interpolate(value) for name, value in environment(service(compose, GATEWAYS[0])).items()}
    settings = Settings.from_env(env)
    assert not settings.is_sqlite
    assert settings.database_url == env["DATABASE_URL"]
    assert settings.redis_url == env["REDIS_URL"]
    assert settings.auto_migrate is False
    assert settings.seed_demo_data is True
    assert settings.jwt_secret != DEV_JWT_SECRET
    assert len(settings.jwt_secret.encode()) >= 32, "HS256 wants a key of at least 32 bytes"
    shell = {"ORDERGATE_JWT_SECRET": "a-real-secret-from-the-shell-" + "x" * 32}
    raw = environment(service(compose, GATEWAYS[0]))
    chosen = Settings.from_env({name: interpolate(value, shell) for name, value in raw.items()})
    assert chosen.jwt_secret == shell["ORDERGATE_JWT_SECRET"]


def test_compose_passes_only_variables_the_settings_read(compose: dict[str, Any]) -> None:
    read = settings_env_names()
    assert {"DATABASE_URL", "REDIS_URL", "ORDERGATE_JWT_SECRET"} <= read, "the settings parser changed shape"
    for name, definition in compose["services"].items():
        if not builds_dockerfile(definition):
            continue
        unknown = set(environment(definition)) - read
        assert not unknown, f"{name} sets {sorted(unknown)}, which ordergate/settings.py never reads"


def test_gateways_wait_for_healthy_services_and_a_finished_migration(compose: dict[str, Any]) -> None:
    expected = {
        "postgres": "service_healthy",
        "redis": "service_healthy",
        "migrate": "service_completed_successfully",
    }
    for name in GATEWAYS:
        depends = service(compose, name).get("depends_on")
        assert isinstance(depends, dict), f"{name} uses the long depends_on form (with conditions)"
        assert {dep: (spec or {}).get("condition") for dep, spec in depends.items()} == expected


def test_postgres_and_redis_have_healthchecks_and_postgres_keeps_its_data(compose: dict[str, Any]) -> None:
    postgres, redis = service(compose, "postgres"), service(compose, "redis")
    assert str(postgres["image"]).startswith("postgres:16")
    assert str(redis["image"]).startswith("redis:7")
    pg_test = postgres["healthcheck"]["test"]
    assert "pg_isready" in (" ".join(pg_test) if isinstance(pg_test, list) else pg_test)
    redis_test = redis["healthcheck"]["test"]
    assert "redis-cli ping" in (" ".join(redis_test) if isinstance(redis_test, list) else redis_test)
    volumes = [str(volume).split(":")[0] for volume in postgres.get("volumes", [])]
    named = [volume for volume in volumes if volume in (compose.get("volumes") or {})]
    assert named, "PostgreSQL data lives on a named volume"
    pg_env = environment(postgres)
    url = environment(service(compose, GATEWAYS[0]))["DATABASE_URL"]
    user_password_db = (
        f"{pg_env['POSTGRES_USER']}:{pg_env['POSTGRES_PASSWORD']}@postgres:5432/{pg_env['POSTGRES_DB']}"
    )
    assert url.endswith(user_password_db), "the gateways log in with the credentials postgres is created with"


def test_migrate_is_a_one_shot_against_the_same_database(compose: dict[str, Any]) -> None:
    migrate = service(compose, "migrate")
    assert builds_dockerfile(migrate) or migrate.get("image") == service(compose, GATEWAYS[0]).get("image")
    words = shlex.split(command_text(migrate))
    assert "ordergate migrate" in " ".join(words)
    assert str(migrate.get("restart", "no")) == "no"
    assert environment(migrate)["DATABASE_URL"] == environment(service(compose, GATEWAYS[0]))["DATABASE_URL"]
    assert (migrate.get("depends_on") or {}).get("postgres", {}).get("condition") == "service_healthy"

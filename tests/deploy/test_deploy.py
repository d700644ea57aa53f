"""deploy/: compose.yaml needs every secret from the environment, entrypoint.sh fails fast,
the Dockerfile is pinned; `docker compose config` when a usable docker compose is here."""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
from pathlib import Path
from typing import Any

import pytest

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
COMPOSE = DEPLOY / "compose.yaml"
ENTRYPOINT = DEPLOY / "entrypoint.sh"
REFERENCE = re.compile(r"\$\{(?P<name>[A-Z0-9_]+)(?P<op>:\?|:-|\?|-)?(?P<rest>[^}]*)\}")
SECRET = re.compile(r"PASSWORD|SECRET|TOKEN|HASH|_KEY$")
REQUIRED = ("POSTGRES_PASSWORD", "FLEETCAST_DOMAIN", "FLEETCAST_TLS", "MLFLOW_BASIC_AUTH_HASH")
FULL_ENV = {
    "POSTGRES_PASSWORD": "0123456789abcdef",
    "FLEETCAST_DOMAIN": "fleet.example.org",
    "FLEETCAST_TLS": "internal",
    "MLFLOW_BASIC_AUTH_USER": "ops",
    "MLFLOW_BASIC_AUTH_HASH": "$$2a$$14$$abcdefghijklmnopqrstuv",
}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    """deploy/compose.yaml parsed (skipped without PyYAML)."""
    yaml = pytest.importorskip("yaml", reason="PyYAML is not installed")
    doc: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return doc


def _references(text: str) -> list[re.Match[str]]:
    """Every ``${VAR...}`` interpolation in ``text``."""
    return list(REFERENCE.finditer(text))


def test_compose_has_every_service(compose: dict[str, Any]) -> None:
    """PostgreSQL, API, dashboard, scheduler, MLflow and the TLS proxy are all there."""
    assert {"db", "api", "dashboard", "scheduler", "mlflow", "proxy", "migrate"} <= set(
        compose["services"]
    )
    fleetcast = {n for n, s in compose["services"].items() if "build" in s}
    commands = {n: compose["services"][n]["command"][0] for n in fleetcast}
    assert commands == {
        "migrate": "migrate",
        "mlflow": "mlflow",
        "api": "api",
        "dashboard": "dashboard",
        "scheduler": "run",
    }


def test_only_the_proxy_publishes_ports(compose: dict[str, Any]) -> None:
    """Nothing but Caddy is reachable from outside, so every page is served over HTTPS."""
    published = {n for n, s in compose["services"].items() if s.get("ports")}
    assert published == {"proxy"}


def test_every_variable_without_a_default_is_required_with_a_message() -> None:
    """A ``${VAR}`` either has a default (``:-``) or fails with a message (``:?msg``)."""
    refs = _references(COMPOSE.read_text())
    assert refs
    bad = [m.group(0) for m in refs if m.group("op") not in (":?", ":-")]
    assert bad == []
    silent = [m.group(0) for m in refs if m.group("op") == ":?" and not m.group("rest").strip()]
    assert silent == []
    required = {m.group("name") for m in refs if m.group("op") == ":?"}
    assert set(REQUIRED) <= required


def test_no_secret_has_a_default() -> None:
    """Passwords, hashes, tokens and keys default to nothing: required or empty (feature off)."""
    for match in _references(COMPOSE.read_text()):
        if SECRET.search(match.group("name")) and match.group("op") == ":-":
            assert match.group("rest") == "", match.group(0)


def _environment(service: dict[str, Any]) -> dict[str, str]:
    """A service's environment as a mapping (list form converted)."""
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {str(k): str(v) for k, v in env.items()}


def test_no_literal_passwords(compose: dict[str, Any]) -> None:
    """Secret-named variables and the password inside db URLs come from ``${...:?...}``."""
    for name, service in compose["services"].items():
        for key, value in _environment(service).items():
            if SECRET.search(key) and value:
                assert value.startswith("${") and value.endswith("}"), (name, key)
            for password in re.findall(r"://[^:/@]+:([^@]+)@", value):
                assert re.fullmatch(r"\$\{[A-Z0-9_]+:\?[^}]+\}", password), (name, key)


def test_caddyfile_takes_its_settings_from_the_environment() -> None:
    """The proxy's host, TLS mode and MLflow credentials are environment placeholders."""
    caddy = (DEPLOY / "Caddyfile").read_text()
    for name in ("FLEETCAST_DOMAIN", "FLEETCAST_TLS", "MLFLOW_BASIC_AUTH_USER"):
        assert "{$" + name + "}" in caddy
    assert "{$MLFLOW_BASIC_AUTH_HASH}" in caddy
    assert "reverse_proxy dashboard:8501" in caddy and "reverse_proxy api:8000" in caddy


def test_dockerfile_is_pinned() -> None:
    """A versioned base image (never ``latest``) and installs under constraints.txt."""
    text = (DEPLOY / "Dockerfile").read_text()
    base = re.search(r"^ARG PYTHON_IMAGE=(\S+)$", text, re.M)
    assert base is not None
    assert re.fullmatch(r"python:3\.11\.\d+-slim-bookworm(@sha256:[0-9a-f]{64})?", base.group(1))
    assert "pip install -c constraints.txt" in text
    assert "fleetcast-entrypoint" in text


def test_env_example_names_every_required_variable() -> None:
    """.env.example lists every variable compose requires, with no value filled in."""
    example = (DEPLOY / ".env.example").read_text()
    required = {m.group("name") for m in _references(COMPOSE.read_text()) if m.group("op") == ":?"}
    for name in required:
        assert re.search(rf"^{name}=$", example, re.M), name


@pytest.fixture
def stub_path(tmp_path: Path) -> Path:
    """A PATH directory whose ``fleetcast`` and ``mlflow`` print their arguments."""
    for tool in ("fleetcast", "mlflow"):
        script = tmp_path / tool
        script.write_text(f'#!/usr/bin/env bash\necho "{tool} $*"\n')
        script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return tmp_path


def _entrypoint(
    args: list[str], env: dict[str, str], path: Path
) -> subprocess.CompletedProcess[str]:
    """Run entrypoint.sh with bash, ``env`` only (and PATH with the stubs first)."""
    bash = shutil.which("bash")
    if bash is None:
        pytest.skip("bash is not installed")
    full = {"PATH": f"{path}{os.pathsep}/usr/bin:/bin", **env}
    return subprocess.run(
        [bash, str(ENTRYPOINT), *args], env=full, capture_output=True, text=True, timeout=30
    )


@pytest.mark.parametrize(
    ("role", "needs"),
    [
        ("api", ["FLEETCAST_HOME", "FLEETCAST_DB_URL"]),
        ("dashboard", ["FLEETCAST_HOME", "FLEETCAST_DB_URL"]),
        ("run", ["FLEETCAST_HOME", "FLEETCAST_DB_URL", "FLEETCAST_MLFLOW_URI"]),
        ("migrate", ["FLEETCAST_HOME", "FLEETCAST_DB_URL"]),
        ("mlflow", ["MLFLOW_BACKEND_STORE_URI", "MLFLOW_ARTIFACTS_DESTINATION"]),
    ],
)
def test_entrypoint_fails_fast_naming_what_is_missing(
    role: str, needs: list[str], stub_path: Path
) -> None:
    """Without its variables an entry point exits 64 and names them, starting nothing."""
    done = _entrypoint([role], {}, stub_path)
    assert done.returncode == 64
    for name in needs:
        assert name in done.stderr
    assert "required environment variable" in done.stderr
    assert done.stdout == ""


def test_entrypoint_names_only_the_missing_variable(stub_path: Path) -> None:
    """With the home set but no db URL, the message names the db URL alone."""
    done = _entrypoint(["run"], {"FLEETCAST_HOME": "/data", "FLEETCAST_MLFLOW_URI": "x"}, stub_path)
    assert done.returncode == 64
    assert "FLEETCAST_DB_URL" in done.stderr and "FLEETCAST_HOME" not in done.stderr


def test_entrypoint_starts_each_role(stub_path: Path) -> None:
    """With its variables set, each role execs the right command line."""
    env = {
        "FLEETCAST_HOME": "/data",
        "FLEETCAST_DB_URL": "postgresql+psycopg://u:p@db/fleetcast",
        "FLEETCAST_MLFLOW_URI": "http://mlflow:5000",
    }
    api = _entrypoint(["api"], env, stub_path)
    assert api.returncode == 0, api.stderr
    assert api.stdout.strip() == "fleetcast serve --host 0.0.0.0 --port 8000 --workers 2"
    run = _entrypoint(["run", "--now"], env, stub_path)
    assert run.stdout.strip() == "fleetcast run --now"
    migrate = _entrypoint(["migrate"], env, stub_path)
    assert migrate.stdout.strip() == "fleetcast db upgrade"
    mlflow_env = {
        "MLFLOW_BACKEND_STORE_URI": "postgresql+psycopg://u:p@db/mlflow",
        "MLFLOW_ARTIFACTS_DESTINATION": "/mlartifacts",
        "MLFLOW_ALLOWED_HOSTS": "mlflow",
    }
    mlflow = _entrypoint(["mlflow"], mlflow_env, stub_path)
    assert mlflow.stdout.startswith("mlflow server --host 0.0.0.0 --port 5000")
    unknown = _entrypoint(["nonsense"], env, stub_path)
    assert unknown.returncode == 64 and "unknown entry point" in unknown.stderr


def _docker_compose() -> list[str]:
    """The docker compose command when one works here; skip otherwise."""
    for cmd in (["docker", "compose"], ["docker-compose"]):
        if shutil.which(cmd[0]) is None:
            continue
        try:
            probe = subprocess.run([*cmd, "version"], capture_output=True, timeout=20)
        except (OSError, subprocess.TimeoutExpired):
            continue
        if probe.returncode == 0:
            return cmd
    pytest.skip("docker compose is not usable here")


def test_docker_compose_config(tmp_path: Path) -> None:
    """`docker compose config` accepts the file with .env filled and refuses it without."""
    cmd = _docker_compose()
    env_file = tmp_path / ".env"
    env_file.write_text("".join(f"{k}={v}\n" for k, v in FULL_ENV.items()))
    base = [*cmd, "-f", str(COMPOSE), "--project-directory", str(DEPLOY)]
    clean = {k: v for k, v in os.environ.items() if k not in FULL_ENV}
    ok = subprocess.run(
        [*base, "--env-file", str(env_file), "config", "-q"],
        capture_output=True,
        text=True,
        env=clean,
        timeout=60,
    )
    assert ok.returncode == 0, ok.stderr
    empty = tmp_path / "empty.env"
    empty.write_text("")
    refused = subprocess.run(
        [*base, "--env-file", str(empty), "config", "-q"],
        capture_output=True,
        text=True,
        env=clean,
        timeout=60,
    )
    assert refused.returncode != 0
    assert "deploy/.env" in refused.stderr


def test_entrypoint_unsets_empty_optional_variables(stub_path: Path) -> None:
    """An optional variable compose passes empty (PREFECT_API_URL=) is unset, not empty."""
    probe = stub_path / "fleetcast"
    probe.write_text(
        '#!/usr/bin/env bash\necho "${PREFECT_API_URL-unset} ${FLEETCAST_CONFIG-unset}"\n'
    )
    env = {"FLEETCAST_HOME": "/data", "FLEETCAST_DB_URL": "sqlite://", "PREFECT_API_URL": ""}
    done = _entrypoint(["fleetcast", "status"], {**env, "FLEETCAST_CONFIG": ""}, stub_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "unset unset"

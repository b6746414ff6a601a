"""docker-compose.yml follows the Compose Specification and runs this project's real modules."""

from __future__ import annotations

import importlib
import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml

from shared.workers import WORKER_ENV
from services import notifications, webhooks

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = Path(__file__).resolve().parent / "data" / "compose-spec.json"


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_compose_file_is_valid_against_the_specification(compose):
    schema = json.loads(SCHEMA.read_text())
    jsonschema.Draft7Validator(schema).validate(compose)


def test_compose_runs_every_process_of_the_design(compose):
    services = compose["services"]
    assert {"postgres", "redis", "mailpit", "migrate", "registration", "calendar_feed", "worker",
            "webhook_worker", "scheduler"} <= set(services)
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    for name in ("registration", "calendar_feed", "worker", "webhook_worker", "scheduler"):
        assert services[name]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
        assert services[name]["environment"]["DATABASE_URL"].startswith("postgresql+psycopg://")


def module_of(command: list[str]) -> tuple[str, str | None]:
    """The project module (and attribute) a container command starts."""
    if command[:2] == ["python", "-m"]:
        return command[2], None
    if command[0] == "dramatiq":
        return command[1], "broker"
    if command[0] == "gunicorn":
        app = next(arg for arg in command[1:] if ":" in arg and not arg.startswith("0.0.0.0"))
        module, attribute = app.split(":")
        return module, re.sub(r"\(\)$", "", attribute)
    raise AssertionError(f"unknown command {command}")


def commands(compose) -> list[list[str]]:
    found = [service["command"] for service in compose["services"].values()
             if "command" in service and service.get("build")]
    dockerfile_cmd = re.search(r"^CMD (\[.*\])$", (ROOT / "Dockerfile").read_text(), re.M).group(1)
    return found + [json.loads(dockerfile_cmd)]


def test_every_container_command_names_a_real_module(compose):
    started = commands(compose)
    assert len(started) == 7
    for command in started:
        module, attribute = module_of(command)
        assert importlib.util.find_spec(module) is not None, command
        # Import in a fresh interpreter: the worker module installs a global broker.
        probe = f"import {module} as m; assert callable(getattr(m, {attribute!r})) or {attribute!r} == 'broker'" \
            if attribute else f"import importlib.util as u; assert u.find_spec({module!r})"
        result = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True)
        assert result.returncode == 0, (command, result.stderr)
        if command[:2] == ["python", "-m"]:
            spec = importlib.util.find_spec(module)
            runnable = spec.submodule_search_locations is None or importlib.util.find_spec(f"{module}.__main__")
            assert runnable, f"{module} cannot be run with python -m"


def test_the_workers_run_as_the_project_and_its_benchmark_assume(compose):
    for name, service in (("worker", notifications), ("webhook_worker", webhooks)):
        worker = compose["services"][name]
        assert worker["command"] == service.worker_command([])
        assert WORKER_ENV.items() <= worker["environment"].items()


def test_image_copies_only_paths_that_exist():
    for line in (ROOT / "Dockerfile").read_text().splitlines():
        if line.startswith("COPY "):
            for source in line.split()[1:-1]:
                assert (ROOT / source).exists(), source

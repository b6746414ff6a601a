"""The layout's contracts (pyproject.toml, ``lint-imports``) hold, and they do fail on the imports they forbid."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.servers import PROJECT_ROOT

LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint_imports(root: Path) -> subprocess.CompletedProcess:
    """Run the contracts over the tree at ``root`` (its own pyproject.toml and packages)."""
    return subprocess.run([str(LINT_IMPORTS), "--no-cache"], cwd=root, capture_output=True, text=True, timeout=120)


@pytest.fixture
def tree(tmp_path) -> Path:
    """A copy of the packages and the contracts, to break on purpose."""
    for name in ("services", "shared"):
        shutil.copytree(PROJECT_ROOT / name, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(PROJECT_ROOT / "pyproject.toml", tmp_path)
    return tmp_path


def add_import(tree: Path, module: str, statement: str) -> None:
    """Append an import to a module of the copied tree."""
    with (tree / module).open("a") as source:
        source.write(f"\n{statement}  # added by the test\n")


def test_the_layout_keeps_every_contract():
    result = lint_imports(PROJECT_ROOT)
    assert result.returncode == 0, result.stdout
    assert "0 broken" in result.stdout


@pytest.mark.parametrize("module, statement, contract", [
    # An organiser page using a participant page's code, and a participant page using another's.
    ("services/registration/manage/pages.py", "from services.registration.public import pages",
     "Registration service: controllers over the plumbing"),
    ("services/registration/public/embed.py", "from services.registration.public import pages",
     "Participant controllers never import each other"),
    # The domain reaching up into the web plumbing, and accounts reaching up into the domain.
    ("services/registration/domain/seminars.py", "from services.registration.web import context",
     "Registration service: controllers over the plumbing"),
    ("services/registration/accounts/audit.py", "from services.registration.domain import ownership",
     "Registration service: controllers over the plumbing"),
    # A cycle: the database module importing the outbox, which imports it.
    ("shared/db.py", "import shared.outbox", "No import cycles between modules or packages"),
    ("services/notifications/mails.py", "import services.registration.domain.consent",
     "Services talk through the database and Redis"),
])
def test_a_forbidden_import_breaks_its_contract(tree, module, statement, contract):
    add_import(tree, module, statement)
    result = lint_imports(tree)
    assert result.returncode == 1, result.stdout
    broken = result.stdout.split("Broken contracts", 1)[1]
    assert contract in " ".join(broken.split()), result.stdout


def readme_section(title: str) -> str:
    """One ``## `` section of the README, without its heading."""
    text = (PROJECT_ROOT / "README.md").read_text()
    return text.split(f"\n## {title}\n", 1)[1].split("\n## ", 1)[0]


def tracked_folders(depth: int) -> set[str]:
    """Every folder of the repository, down to ``depth`` levels, that holds a tracked file."""
    files = subprocess.run(["git", "ls-files"], cwd=PROJECT_ROOT, capture_output=True, text=True,
                           check=True).stdout.split()
    folders = set()
    for file in files:
        parts = Path(file).parts[:-1]
        folders.update("/".join(parts[:n]) + "/" for n in range(1, min(len(parts), depth) + 1))
    return folders


def test_the_readme_code_map_names_every_folder_and_nothing_that_does_not_exist():
    folders, rules = readme_section("Code map").split("Where a rule lives", 1)

    def rows(table: str) -> list[list[str]]:
        return [line.split("|")[1:-1] for line in table.splitlines() if line.startswith("| ")]

    named = {path for row in rows(folders) for path in re.findall(r"`([^`]+/)`", row[0])}
    assert named == tracked_folders(depth=3)
    # Every module the "where a rule lives" table names exists.
    modules = {path for row in rows(rules) for path in re.findall(r"`([\w/.]+\.py)`", row[1])}
    assert modules, "the table of rules names no module"
    for module in modules:
        base = PROJECT_ROOT if module.startswith(("services/", "shared/")) else PROJECT_ROOT / "services/registration"
        assert (base / module).is_file(), module

"""The benchmarks' one result type, one table printer and the JSON record kept for comparing commits."""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from tests.servers import PROJECT_ROOT

RESULTS = PROJECT_ROOT / "var" / "bench"


@dataclass(frozen=True)
class Row:
    """One measured figure; ``ratio`` and ``met`` only where the figure has a target."""

    path: str
    figure: float
    unit: str
    baseline: float | None = None
    ratio: float | None = None
    target: str = ""  # as printed: ">= 0.5" of the ratio, or "< 150 MB" of the figure
    met: bool | None = None
    note: str = ""


def against(path: str, figure: float, baseline: float, unit: str, target: float, *, lower_is_better: bool = False,
            note: str = "") -> Row:
    """A figure next to its baseline; the ratio (path speed over baseline speed) must reach ``target``."""
    ratio = baseline / figure if lower_is_better else figure / baseline
    return Row(path, figure, unit, baseline, ratio, f">= {target:g}", ratio >= target, note)


def below(path: str, figure: float, unit: str, limit: float, note: str = "") -> Row:
    """A figure that must stay under an absolute limit, such as peak memory."""
    return Row(path, figure, unit, target=f"< {limit:g} {unit}", met=figure < limit, note=note)


def number(value: float | None) -> str:
    """A figure with as many decimals as its size deserves."""
    if value is None:
        return ""
    return f"{value:.0f}" if abs(value) >= 100 else f"{value:.1f}" if abs(value) >= 10 else f"{value:.2f}"


def print_table(title: str, rows: list[Row]) -> None:
    """The table every benchmark prints: path, figure, baseline, ratio, target, met."""
    width = max([len(row.path) for row in rows] + [4]) + 2
    print(f"\n{title}")
    print(f"{'path':<{width}}{'figure':>10} {'unit':<8}{'baseline':>10}{'ratio':>7}{'target':>11}{'met':>5}  note")
    for row in rows:
        met = {True: "yes", False: "NO", None: ""}[row.met]
        print(f"{row.path:<{width}}{number(row.figure):>10} {row.unit:<8}{number(row.baseline):>10}"
              f"{number(row.ratio):>7}{row.target:>11}{met:>5}  {row.note}".rstrip())


def git_commit() -> str:
    """The checked-out commit, marked ``-dirty`` when the working tree differs from it."""
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=PROJECT_ROOT, capture_output=True, text=True,
                              check=False).stdout.strip()

    commit = git("rev-parse", "--short=12", "HEAD") or "unknown"
    return commit + ("-dirty" if git("status", "--porcelain", "--untracked-files=no") else "")


def write_json(rows: list[Row], seconds: float, settings: dict) -> Path:
    """Write ``var/bench/latest.json`` and a copy named by date and commit; returns the copy's path."""
    now = datetime.now(UTC)
    commit = git_commit()
    record = {"date": now.isoformat(timespec="seconds"), "commit": commit, "cores": os.cpu_count(),
              "seconds": round(seconds, 1), "settings": settings, "rows": [asdict(row) for row in rows]}
    RESULTS.mkdir(parents=True, exist_ok=True)
    text = json.dumps(record, indent=2, ensure_ascii=False) + "\n"
    copy = RESULTS / f"{now:%Y%m%dT%H%M%SZ}-{commit}.json"
    copy.write_text(text, encoding="utf-8")
    (RESULTS / "latest.json").write_text(text, encoding="utf-8")
    return copy

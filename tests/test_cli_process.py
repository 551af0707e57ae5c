"""`tongban` as a separate process: stderr carries the command's own words only, and the module that
parses the command line imports none of the heavy libraries (they belong to the commands that use them)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent
# Libraries that only some commands need; importing any of them cost `tongban --help` a second.
HEAVY = ("pyhanko", "zeep", "xmlsec", "lxml", "fastapi", "starlette", "uvicorn", "httpx", "sqlalchemy", "alembic")


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    values = {name: value for name, value in os.environ.items() if not name.startswith(("TONGBAN_", "PYTHONWARN"))}
    values["TONGBAN_VAR_DIR"] = str(tmp_path / "var")
    return values


def tongban(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN / "tongban"), *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=60)


def test_importing_the_command_line_loads_no_heavy_library(env: dict[str, str], tmp_path: Path) -> None:
    code = "import gateway.cli, json, sys; print(json.dumps(sorted(sys.modules)))"
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    loaded = json.loads(result.stdout)
    assert sorted(name for name in loaded if name.split(".")[0] in HEAVY) == []
    assert [name for name in loaded if name.startswith("trust.")] == ["trust._errors"]
    assert {"gateway.app", "gateway.runtime", "gateway.registry", "gateway.settings"}.isdisjoint(loaded)


@pytest.mark.parametrize("group", [(), ("members",), ("services",), ("access",), ("keys",), ("audit",), ("call",)])
def test_help_prints_nothing_on_stderr(group: tuple[str, ...], env: dict[str, str], tmp_path: Path) -> None:
    result = tongban(*group, "--help", env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Usage" in result.stdout
    assert result.stderr == ""


def test_a_failing_command_prints_its_one_line_reason_and_nothing_else(env: dict[str, str], tmp_path: Path) -> None:
    result = tongban("members", "add", "442000.zsgov.window", "--cert", "missing.pem", env=env, cwd=tmp_path)
    assert result.returncode != 0
    assert result.stdout == ""
    assert result.stderr == "tongban: missing.pem: No such file or directory\n"


def test_a_usage_error_says_only_what_is_wrong(env: dict[str, str], tmp_path: Path) -> None:
    result = tongban("members", "frobnicate", env=env, cwd=tmp_path)
    assert result.returncode == 2
    assert "No such command 'frobnicate'" in result.stderr
    assert "Warning" not in result.stderr and "Traceback" not in result.stderr


def test_loading_pyhanko_warns_nothing_and_leaves_the_warning_filters_as_they_were(
    env: dict[str, str], tmp_path: Path
) -> None:
    code = (
        "import warnings; warnings.simplefilter('always'); before = list(warnings.filters)\n"
        "import trust\n"
        "trust.examine_pdf\n"  # loads trust._pades, hence pyhanko
        "import sys; assert 'pyhanko' in sys.modules\n"
        "assert warnings.filters == before, 'the DSA warning must be filtered at the import only'\n"
        "warnings.warn('other warnings still show')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert "DSA" not in result.stderr
    assert "UserWarning: other warnings still show" in result.stderr

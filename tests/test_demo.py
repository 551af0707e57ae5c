"""`tongban demo` runs every flow end to end and says so in a table; it exits 0 only if all pass."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from conftest import free_port


def test_demo_starts_its_own_gateway_and_sandboxes_and_every_flow_passes(tmp_path: Path) -> None:
    env = {name: value for name, value in os.environ.items() if not name.startswith("TONGBAN_")}
    env["TONGBAN_PORT"] = str(free_port())  # nothing answers there, so the demo starts its own
    env["COLUMNS"] = "200"
    result = subprocess.run(
        [str(Path(sys.executable).parent / "tongban"), "demo"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Zhongshan SOAP window → Shenzhen REST licence registry" in result.stdout
    assert "Shenzhen REST window → Zhongshan SOAP licence registry" in result.stdout
    assert "Shenzhen licence recognised at a Zhongshan window (SOAP)" in result.stdout
    assert "Zhongshan licence recognised at a Shenzhen window (REST)" in result.stdout
    assert "Shenzhen window application handled in Zhongshan (SOAP), reported back" in result.stdout
    assert "Shenzhen enterprise's credit report for a Zhongshan bank (financing)" in result.stdout
    assert "a credit repair at the platform supersedes a report issued before" in result.stdout
    assert "remote evaluation scheduled, committee drawn (Hohhot main venue; Zhongshan, Shenzhen)" in result.stdout
    assert "remote evaluation: report drafted, signed by every member (云签名 of their cities)" in result.stdout
    assert "remote evaluation: award published, archived; the archive verifies offline" in result.stdout
    assert "remote evaluation: a venue reconnects and resumes its event stream" in result.stdout
    # A flow is ok only when its own checks held (for credit: withheld sections, valid, tampered, superseded).
    assert "│ FAILED" not in result.stdout
    assert result.stdout.count(" ok ") >= 18
    assert "Warning" not in result.stderr and "Traceback" not in result.stderr  # only the demo's own lines

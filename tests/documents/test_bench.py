"""The consolidation benchmark runs and reports in the agreed format."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_benchmark_smoke():
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "consolidate.py"), "--comments", "60", "--repeat", "1"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
        cwd=ROOT,
    )
    last = result.stdout.strip().splitlines()[-1]
    match = re.fullmatch(
        r"comments=60 seconds=(\S+) naive_seconds=(\S+) ratio=(\S+) peak_mb=(\S+) proposals_seconds=(\S+)", last
    )
    assert match, last
    assert all(float(value) > 0 for value in match.groups())

"""`make run PORT=N`: the receipt's QR code and look-up address follow the port unless
TTHC_PUBLIC_BASE_URL is set (issue 11). Read from make's own database of variables (``-p``, with
``-n`` nothing is run)."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _public_base(**env) -> str:
    environment = {k: v for k, v in os.environ.items() if k != "TTHC_PUBLIC_BASE_URL"} | env
    out = subprocess.run(["make", "-s", "-n", "-p", "-C", str(ROOT), "run", "PORT=5077"], capture_output=True,
                         text=True, env=environment, timeout=60).stdout
    return re.search(r"^TTHC_PUBLIC_BASE_URL :?= (.*)$", out, re.M).group(1)


@pytest.mark.skipif(shutil.which("make") is None, reason="make absent")
def test_make_run_points_the_public_base_at_its_own_port_unless_configured():
    assert _public_base() == "http://127.0.0.1:5077"
    assert _public_base(TTHC_PUBLIC_BASE_URL="") == "http://127.0.0.1:5077"
    assert _public_base(TTHC_PUBLIC_BASE_URL="https://dichvucong.example.gov.vn") == "https://dichvucong.example.gov.vn"

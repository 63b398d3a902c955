"""The example alert rules in docs/alerts are valid Prometheus rules, the overdue-order
alert fires in promtool's own rule test, and every series they use is one the server
exports (a renamed metric breaks this test, not the operator's pager)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import AppFactory
from tests.server.order_util import member

ALERTS = Path(__file__).resolve().parents[2] / "docs" / "alerts"


def promtool() -> str:
    path = shutil.which("promtool")
    if path is None:
        if os.environ.get("TIDINGS_REQUIRE_SERVICES"):
            pytest.fail("promtool is missing (Debian package prometheus; .ci/run installs it)")
        pytest.skip("promtool is not installed (apt-get install prometheus)")
    return path


def test_rules_pass_promtool_check_and_the_overdue_alert_fires() -> None:
    tool = promtool()
    check = subprocess.run([tool, "check", "rules", "tidings.rules.yml"], cwd=ALERTS,
                           capture_output=True, text=True, check=False)
    assert check.returncode == 0, check.stdout + check.stderr
    test = subprocess.run([tool, "test", "rules", "tidings.tests.yml"], cwd=ALERTS,
                          capture_output=True, text=True, check=False)
    assert test.returncode == 0, test.stdout + test.stderr
    assert "TidingsRemovalOrderOverdue" in (ALERTS / "tidings.tests.yml").read_text()


async def test_every_series_in_the_rules_is_exported(api: AppFactory) -> None:
    used = set(re.findall(r"\b(tidings_[a-z_]+)", (ALERTS / "tidings.rules.yml").read_text()))
    assert "tidings_removal_orders_overdue" in used
    async with api() as client:
        await member(client, "root_admin", "admin")
        text = (await client.get("/metrics")).text
    exported = set(re.findall(r"^# TYPE (tidings_[a-z_]+) ", text, re.MULTILINE))
    assert used <= exported, used - exported

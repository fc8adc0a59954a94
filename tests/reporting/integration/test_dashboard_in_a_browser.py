"""The dashboard in a real headless browser (Debian's chromium, driven by Playwright) against the
running service fed through the real broker: the charts show the API's figures, they update without
a reload when new events arrive, and the ops page shows the platform. Screenshots are kept in
`.tandem/artifacts/`; `TANDEM_UPDATE_SCREENSHOTS=1` also refreshes `docs/dashboard.png`, the README's."""

from __future__ import annotations

import json
import os
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
from pairing.integration.enrollment_feed import PROFILE
from playwright.async_api import Page, async_playwright
from reporting.history import Batch
from reporting.integration.conftest import Reporting
from tandem_enrollment.domain import events as en
from tandem_kernel.testing import TokenBook

pytestmark = [pytest.mark.broker, pytest.mark.slow, pytest.mark.asyncio(loop_scope="module")]

ROOT = Path(__file__).resolve().parents[3]
ARTIFACTS = ROOT / ".tandem" / "artifacts"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


async def chart_data(page: Page, chart: str) -> list[Any]:
    return await page.evaluate(f"window.tandemCharts['{chart}'].data.datasets.map(d => d.data)")  # type: ignore[no-any-return]


async def test_the_dashboard_draws_the_apis_figures_and_follows_new_events(
    reporting: Reporting, tokens: TokenBook
) -> None:
    program = reporting.history.programs[0]
    overview = (await reporting.http.get(f"/programs/{program}/overview")).json()["report"]
    impact = (await reporting.http.get(f"/programs/{program}/impact")).json()["report"]
    token = await tokens.token("hr-admin")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = await browser.new_page(viewport={"width": 1400, "height": 1000})
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        await page.goto(f"{reporting.url}/dashboard/?poll=1#token={token}")
        await page.wait_for_function("window.tandemReady === true", timeout=30_000)
        await page.select_option("#program", str(program))
        await page.wait_for_timeout(1500)

        [funnel] = await chart_data(page, "funnel")
        assert funnel == [stage["count"] for stage in overview["funnel"]]
        [skills] = await chart_data(page, "skills")
        assert skills == [entry["mean_delta"] for entry in impact["skills"]]
        assert await page.text_content("#nps") == f"{impact['survey']['nps']:.1f}"
        assert "#token=" not in page.url, "the token leaves the address bar"
        at_risk_rows = await page.locator("#at-risk tr").count()
        health = (await reporting.http.get(f"/programs/{program}/pair-health")).json()["report"]
        assert at_risk_rows == len(health) > 0
        await page.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=True)
        if os.environ.get("TANDEM_UPDATE_SCREENSHOTS"):  # the README's copy changes only when asked
            shutil.copy(ARTIFACTS / "dashboard.png", ROOT / "docs" / "dashboard.png")

        loaded_at = await page.evaluate("window.tandemLoadedAt")
        await reporting.send([_newcomer(program)])
        await page.wait_for_function(
            f"window.tandemCharts.funnel.data.datasets[0].data[0] === {funnel[0] + 1}", timeout=20_000
        )
        assert await page.evaluate("window.tandemLoadedAt") == loaded_at, "updated without a reload"
        assert errors == []
        await browser.close()


async def test_the_ops_page_shows_each_service_and_consumer_lag(
    reporting: Reporting, tokens: TokenBook, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REPORTING_PEERS", json.dumps({"reporting": reporting.url}))
    token = await tokens.token("ops")

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = await browser.new_page(viewport={"width": 1400, "height": 700})
        await page.goto(f"{reporting.url}/dashboard/ops.html?poll=2#token={token}")
        await page.wait_for_function("window.tandemReady === true", timeout=30_000)

        cells = await page.locator("tr[data-service=reporting] td").all_text_contents()
        consumers = await page.locator("#consumers tr").all_text_contents()
        await page.screenshot(path=str(ARTIFACTS / "ops.png"), full_page=True)
        await browser.close()

    assert cells[:2] == ["reporting", "ready"]
    assert any(row.startswith("reportingtandem.enrollment.v1") and row.endswith("0") for row in consumers), consumers


def _newcomer(program: Any) -> Batch:
    participant_id = uuid4()
    identity = {"participant_id": participant_id, "program_id": program, "employee_id": "LATE-1", "role": "junior"}
    enrolled = en.ParticipantEnrolled.model_validate({**identity, **PROFILE, "enrolled_at": datetime.now(UTC)})
    return Batch("enrollment", f"participant-{participant_id}", (enrolled,))

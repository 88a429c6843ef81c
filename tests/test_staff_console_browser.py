"""The staff console (GET /staff) in a real browser (headless Chromium, driven by
playwright), against the real platform on SQLite: signing in, the reports list with its
overdue flag, a report's detail and a staff update, the dashboard's figures and charts,
the language switch and the keyboard.

Needs what `tools/browser.sh` installs: /usr/bin/chromium and playwright in .venv.
Screenshots go to bench/results/staff-dashboard.png and bench/results/staff-reports.png.
The page's Content-Security-Policy forbids string evaluation, so everything here waits
on selectors and `expect`, never on `page.wait_for_function`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from backend.complaints.records import Dispatch, create_complaint
from backend.procedure.appointments import office_today
from backend.store import make_engine
from tests.conftest import RunningPlatform, complaint_draft
from tests.test_staff_console import HAIDIAN, WUHOU, file_report
from tools.stack import ROOT

try:
    from playwright.sync_api import Browser, Page, ViewportSize, expect, sync_playwright
except ImportError as missing:  # pragma: no cover
    raise ImportError("playwright is missing from .venv: run tools/browser.sh") from missing

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = ROOT / "bench" / "results"
DESKTOP: ViewportSize = {"width": 1280, "height": 900}
TIMEOUT_MS = 15_000
expect.set_options(timeout=TIMEOUT_MS)

# Reports filed through the API, and their categories' Chinese names.
FILED = {"noise": WUHOU, "sanitation": HAIDIAN, "road-damage": WUHOU}
OVERDUE_CATEGORY = "education"


def _containing(text: str) -> re.Pattern[str]:
    return re.compile(re.escape(text))


@dataclass(frozen=True)
class Seeded:
    platform: RunningPlatform
    filed: dict[str, str]  # complaint id -> category
    overdue: str  # the id of the report past its response day
    names: dict[str, str]  # category -> its Chinese name

    @property
    def total(self) -> int:
        return len(self.filed) + 1


def seed(platform: RunningPlatform) -> Seeded:
    filed = {file_report(platform, category, region): category for category, region in FILED.items()}
    now = datetime.now(timezone.utc)
    engine = make_engine(platform.database_url)
    try:
        dispatch = Dispatch(
            department="education",
            office_region_code=WUHOU,
            office_tier="county",
            office_zh="成都市武侯区教育局",
            office_en="Education Bureau of Wuhou District, Chengdu",
            response_due=office_today(now) - timedelta(days=5),
        )
        draft = complaint_draft(category=OVERDUE_CATEGORY, description="早先的诉求")
        overdue = create_complaint(engine, draft, dispatch, None, None, "hash", now - timedelta(days=10))[0].id
    finally:
        engine.dispose()
    stats = platform.get("/api/v1/stats", headers=platform.staff)
    assert stats.status_code == 200, stats.text
    names = {entry["category"]: entry["name"]["zh"] for entry in stats.json()["complaints"]["by_category"]}
    assert set(names) == {*FILED, OVERDUE_CATEGORY}
    return Seeded(platform, filed, overdue, names)


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seeded]:
    var_dir = tmp_path_factory.mktemp("staff-browser")
    running = RunningPlatform(f"sqlite:///{var_dir / 'platform.db'}", var_dir)
    try:
        yield seed(running)
    finally:
        running.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail("Chromium is missing: run tools/browser.sh")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser, seeded: Seeded) -> Iterator[Page]:
    context = browser.new_context(viewport=DESKTOP, locale="zh-CN")
    opened = context.new_page()
    opened.set_default_timeout(TIMEOUT_MS)
    errors: list[str] = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    yield opened
    context.close()
    assert errors == []


def open_console(page: Page, seeded: Seeded) -> None:
    page.goto(seeded.platform.url + "/staff")
    expect(page.locator("#signin-token")).to_be_visible()


def sign_in(page: Page, seeded: Seeded) -> None:
    open_console(page, seeded)
    page.fill("#signin-token", seeded.platform.staff_token)
    page.click("#signin-submit")
    expect(page.locator("#reports-body tr[data-id]")).to_have_count(seeded.total)


def test_a_wrong_token_is_refused_and_the_right_one_shows_the_reports(page: Page, seeded: Seeded) -> None:
    open_console(page, seeded)
    page.fill("#signin-token", "not-the-staff-token")
    page.click("#signin-submit")
    expect(page.locator("#signin-error")).to_have_text("令牌无效，请检查后重试。")
    expect(page.locator("#view-reports")).to_be_hidden()

    page.fill("#signin-token", seeded.platform.staff_token)
    page.click("#signin-submit")
    expect(page.locator("#view-reports")).to_be_visible()
    rows = page.locator("#reports-body tr[data-id][data-status]")
    expect(rows).to_have_count(seeded.total)
    for complaint_id, category in {**seeded.filed, seeded.overdue: OVERDUE_CATEGORY}.items():
        row = page.locator(f'#reports-body tr[data-id="{complaint_id}"]')
        expect(row).to_contain_text(seeded.names[category])
    expect(page.locator(f'#reports-body tr[data-id="{seeded.overdue}"]')).to_have_class("overdue")
    expect(page.locator("#reports-body tr.overdue")).to_have_count(1)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "staff-reports.png"), full_page=True)


def test_a_staff_update_is_saved_shown_and_recorded(page: Page, seeded: Seeded) -> None:
    sign_in(page, seeded)
    complaint_id = next(iter(seeded.filed))
    page.locator(f'#reports-body tr[data-id="{complaint_id}"] > :first-child button').click()
    detail = page.locator("#report-detail")
    expect(detail).to_be_visible()
    expect(page.locator("#report-detail-id")).to_have_text(complaint_id)
    before = page.locator("#report-updates-body tr").count()

    note = "已联系施工方，正在核查夜间施工许可。"
    page.select_option("#report-update-status", "in_progress")
    page.fill("#report-update-note", note)
    page.click("#report-update-submit")
    expect(page.locator("#report-update-message")).to_have_text("已保存，反映人将收到通知。")
    updates = page.locator("#report-updates-body tr")
    expect(updates).to_have_count(before + 1)
    expect(updates.filter(has_text=note)).to_contain_text("办理中")
    expect(page.locator(f'#reports-body tr[data-id="{complaint_id}"]')).to_have_attribute("data-status", "in_progress")

    recorded = seeded.platform.get(f"/api/v1/complaints/{complaint_id}", headers=seeded.platform.staff)
    assert recorded.status_code == 200, recorded.text
    assert recorded.json()["status"] == "in_progress"
    assert any(update["note"] == note for update in recorded.json()["updates"])


def test_the_dashboard_shows_the_figures_and_charts_in_both_languages(page: Page, seeded: Seeded) -> None:
    sign_in(page, seeded)
    page.click("#nav-dashboard")
    expect(page.locator("#view-dashboard")).to_be_visible()
    expect(page.locator("#dashboard-period")).to_have_value("30")
    expect(page.locator("#stat-reports-total")).to_have_text(str(seeded.total))
    expect(page.locator("#stat-on-time-rate")).not_to_have_text("—")
    expect(page.locator("#stat-satisfaction-rate")).not_to_have_text("—")
    category_chart = page.locator("#chart-category svg[role=img]")
    for name in seeded.names.values():
        expect(category_chart).to_have_attribute("aria-label", _containing(name))
    expect(page.locator("#chart-region svg[role=img]")).to_have_attribute("aria-label", _containing("武侯区"))
    for chart in ("chart-response", "chart-satisfaction", "chart-applications"):
        expect(page.locator(f"#{chart} svg[role=img]")).to_have_attribute("aria-label", _containing(". "))
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "staff-dashboard.png"))

    label = page.locator('#view-dashboard [data-i18n="kpi_reports"]')
    expect(label).to_have_text("诉求总数")
    page.click("#lang-switch")
    expect(label).to_have_text("Reports")
    expect(page.locator("#lang-switch")).to_have_text("中文")
    expect(category_chart).to_have_attribute("aria-label", _containing("Reports by category"))
    expect(page.locator("#stat-reports-total")).to_have_text(str(seeded.total))


def test_tab_reaches_the_sign_in_field_and_enter_signs_in(page: Page, seeded: Seeded) -> None:
    open_console(page, seeded)
    page.click("#signin-title")  # a heading: focus goes back to the page itself
    field = page.locator("#signin-token:focus")
    expect(field).to_have_count(0)
    for _ in range(8):
        if field.count():
            break
        page.keyboard.press("Tab")
    expect(field).to_have_count(1)
    page.keyboard.type(seeded.platform.staff_token)
    page.keyboard.press("Enter")
    expect(page.locator("#view-reports")).to_be_visible()
    expect(page.locator("#reports-body tr[data-id]")).to_have_count(seeded.total)

"""The staff console (CONTRACT.md §4: GET /staff) and the dashboard's figures
(GET /api/v1/stats), on SQLite and on PostgreSQL.

The page and its scripts are public static files, served with a Content-Security-Policy
and nothing from elsewhere. The figures are checked exactly against reports and
applications made through the API, and reports written straight to the database where a
test needs a past filing day, response day or answer time.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from backend.complaints.records import Dispatch, create_complaint, update_complaint
from backend.console.openapi import STATS_SCHEMAS
from backend.procedure.appointments import OFFICE_TIME, office_today
from backend.procedure.identity import check_character
from backend.records import ApplicationDraft, create_application
from backend.store import make_engine
from tests.conftest import POSTGRES_URL, RunningPlatform, complaint_draft, fresh_engine

PHONE = "13987654321"
ID_NUMBER = "51010719850612345" + check_character("51010719850612345")
WUHOU = "510107"  # 成都市武侯区
HAIDIAN = "110108"  # 北京市海淀区


def running_console(database_url: str, var_dir: Path) -> RunningPlatform:
    return RunningPlatform(database_url, var_dir)


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningPlatform]:
    var_dir = tmp_path_factory.mktemp("console")
    running = running_console(f"sqlite:///{var_dir / 'platform.db'}", var_dir)
    yield running
    running.stop()


# The page and its assets

ASSET_TYPES = {".js": "text/javascript", ".css": "text/css", ".json": "application/json"}


def asset_paths(page: str) -> set[str]:
    """The page's own assets, and the modules those import."""
    return set(re.findall(r'(?:src|href)="(/staff/assets/[^"]+)"', page))


def test_the_console_page_is_served_with_a_content_security_policy(console: RunningPlatform) -> None:
    for path in ("/staff", "/staff/"):
        page = console.get(path)
        assert page.status_code == 200
        assert page.headers["Content-Type"].startswith("text/html")
        policy = page.headers["Content-Security-Policy"]
        assert "script-src 'self'" in policy and "default-src 'none'" in policy
        assert page.headers["X-Content-Type-Options"] == "nosniff"
    assert asset_paths(page.text) == {"/staff/assets/console.css", "/staff/assets/console.js"}


def test_every_asset_is_served_with_its_content_type_and_nothing_from_elsewhere(console: RunningPlatform) -> None:
    static = Path(__file__).resolve().parent.parent / "backend" / "console" / "static"
    names = [path.name for path in static.iterdir() if path.name != "index.html"] + ["workflow.json"]
    assert {"console.js", "console.css", "api.js", "charts.js"} <= set(names)
    for name in names:
        served = console.get(f"/staff/assets/{name}")
        assert served.status_code == 200, name
        assert served.headers["Content-Type"].startswith(ASSET_TYPES[Path(name).suffix]), name
        assert served.headers["X-Content-Type-Options"] == "nosniff"
        assert "Content-Security-Policy" in served.headers
        assert not re.search(r"https?://", served.text, re.IGNORECASE), name
    assert not re.search(r"https?://", console.get("/staff").text, re.IGNORECASE)


def test_the_modules_import_only_assets_that_are_served(console: RunningPlatform) -> None:
    entry = console.get("/staff/assets/console.js").text
    for imported in re.findall(r'from "\./([^"]+)"', entry):
        assert console.get(f"/staff/assets/{imported}").status_code == 200, imported


def test_scripts_never_write_html(console: RunningPlatform) -> None:
    for name in ("console.js", "dom.js", "reports.js", "applications.js", "dashboard.js", "charts.js"):
        script = console.get(f"/staff/assets/{name}").text
        assert not re.search(r"innerHTML|outerHTML|insertAdjacentHTML|document\.write", script), name


def test_the_workflow_the_forms_offer_is_the_platforms(console: RunningPlatform) -> None:
    workflow = console.get("/staff/assets/workflow.json").json()
    assert workflow["complaints"]["transitions"]["responded"] == ["closed"]
    assert workflow["applications"]["transitions"]["approved"] == ["completed", "ready_for_collection"]
    assert workflow["applications"]["stages"]["reception"] == ["received", "supplement_required"]


def test_unknown_or_hidden_paths_are_404(console: RunningPlatform) -> None:
    for path in ("/staff/assets/nothing.js", "/staff/assets/..%2Fstats.py", "/staff/assets/index.html"):
        assert console.get(path).status_code == 404, path


# The figures: who may see them, and bad parameters


def test_stats_are_for_staff_only(console: RunningPlatform) -> None:
    refused = console.get("/api/v1/stats")
    assert refused.status_code == 401 and refused.json()["error"]["code"] == "unauthorized"
    assert console.get("/api/v1/stats", headers={"Authorization": "Bearer wrong"}).status_code == 403


@pytest.mark.parametrize("days", ["0", "-1", "abc", "367", "7.5", "1e3"])
def test_stats_refuse_a_bad_period(console: RunningPlatform, days: str) -> None:
    answer = console.get("/api/v1/stats", params={"days": days}, headers=console.staff)
    assert answer.status_code == 400 and answer.json()["error"]["code"] == "invalid_days"


def test_stats_of_an_empty_platform_are_zero_with_no_rates(console: RunningPlatform) -> None:
    stats = console.get("/api/v1/stats", headers=console.staff).json()
    assert stats["days"] == 30
    assert stats["complaints"]["total"] == 0 and stats["complaints"]["by_category"] == []
    assert stats["complaints"]["response"]["on_time_rate"] is None
    assert stats["complaints"]["satisfaction"]["rate"] is None
    assert {entry["count"] for entry in stats["applications"]["by_status"]} == {0}


# The figures on real data


@dataclass(frozen=True)
class Seeded:
    platform: RunningPlatform
    today: date


def file_report(platform: RunningPlatform, category: str, region: str) -> str:
    body = {
        "category": category,
        "request_type": "help",
        "description": "楼下商铺夜间施工，噪声很大。",
        "location": {"region_code": region, "address": "示例路1号"},
        "contact": {"name": "欧阳晓梅", "phone": PHONE},
        "channel": "rest",
        "lang": "zh",
    }
    answer = platform.post("/api/v1/complaints", json=body)
    assert answer.status_code == 201, answer.text
    complaint_id: str = answer.json()["complaint_id"]
    return complaint_id


def staff_update(platform: RunningPlatform, complaint_id: str, status: str, note: str = "已处理") -> None:
    path = f"/api/v1/complaints/{complaint_id}/updates"
    answer = platform.post(path, json={"status": status, "note": note}, headers=platform.staff)
    assert answer.status_code == 200, answer.text


def rate(platform: RunningPlatform, complaint_id: str, rating: str) -> None:
    path = f"/api/v1/complaints/{complaint_id}/satisfaction"
    answer = platform.post(path, json={"rating": rating}, headers={"X-Verify-Code": PHONE[-4:]})
    assert answer.status_code == 200, answer.text


def apply(platform: RunningPlatform, *moves: str) -> None:
    body = {
        "service_id": "passport",
        "region_code": WUHOU,
        "applicant": {"name": "欧阳晓梅", "id_number": ID_NUMBER, "phone": PHONE},
        "delivery": "mail",
        "channel": "rest",
        "conversation_id": None,
        "lang": "zh",
    }
    answer = platform.post("/api/v1/applications", json=body)
    assert answer.status_code == 201, answer.text
    for status in moves:
        path = f"/api/v1/applications/{answer.json()['application_id']}/transitions"
        assert platform.post(path, json={"status": status, "note": ""}, headers=platform.staff).status_code == 200


def beijing(day: date, at: time) -> datetime:
    return datetime.combine(day, at, tzinfo=OFFICE_TIME)


def seed(platform: RunningPlatform) -> date:
    """Reports and applications whose figures the tests below know; returns the office date."""
    now = datetime.now(timezone.utc)
    today = office_today(now)
    # Filed today through the API, due in days to come.
    satisfied, basically, dissatisfied = (file_report(platform, category, WUHOU) for category in ("road-damage",) * 3)
    for complaint_id, rating in ((satisfied, "satisfied"), (basically, "basically_satisfied")):
        staff_update(platform, complaint_id, "responded")
        rate(platform, complaint_id, rating)
    staff_update(platform, dissatisfied, "responded")
    rate(platform, dissatisfied, "dissatisfied")  # a new round, not answered yet: pending
    file_report(platform, "sanitation", HAIDIAN)  # pending
    staff_update(platform, file_report(platform, "noise", HAIDIAN), "closed", "重复反映")  # answered on time
    # Filed ten days ago, straight into the database, due three or five days ago.
    engine = make_engine(platform.database_url)
    try:

        def past_report(category: str, filed: datetime, due: date) -> str:
            dispatch = Dispatch(
                department="education",
                office_region_code=WUHOU,
                office_tier="county",
                office_zh="成都市武侯区教育局",
                office_en="Education Bureau of Wuhou District, Chengdu",
                response_due=due,
            )
            draft = complaint_draft(category=category, description="早先的诉求")
            return create_complaint(engine, draft, dispatch, None, None, "hash", filed)[0].id

        ten_days_ago = now - timedelta(days=10)
        past_report("education", ten_days_ago, today - timedelta(days=5))  # overdue
        staff_update(platform, past_report("education", ten_days_ago, today - timedelta(days=5)), "responded")  # late
        due = today - timedelta(days=3)
        last_minute = past_report("healthcare", ten_days_ago, due)
        update_complaint(engine, last_minute, "responded", "已答复", beijing(due, time(23, 30)))  # on time
        next_morning = past_report("healthcare", ten_days_ago, due)
        update_complaint(engine, next_morning, "responded", "已答复", beijing(due + timedelta(days=1), time(0, 30)))
        # Filed forty days ago: outside a 30-day period, inside a 90-day one.
        forty_days_ago = now - timedelta(days=40)
        past_report("other", forty_days_ago, today - timedelta(days=35))  # overdue
        old = ApplicationDraft(
            service_id="passport",
            region_code=WUHOU,
            applicant_name="欧阳晓梅",
            id_number=ID_NUMBER,
            phone=PHONE,
            delivery="mail",
            channel="rest",
            conversation_id=None,
            lang="zh",
            expected_completion=today - timedelta(days=20),
        )
        create_application(engine, old, None, "hash", forty_days_ago)
    finally:
        engine.dispose()
    apply(platform)
    apply(platform, "in_review")
    apply(platform, "in_review", "approved")
    apply(platform, "in_review", "approved")
    return today


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def seeded(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seeded]:
    var_dir = tmp_path_factory.mktemp(f"console-stats-{request.param}")
    if request.param == "sqlite":
        url = f"sqlite:///{var_dir / 'platform.db'}"
    else:
        fresh_engine(POSTGRES_URL).dispose()
        url = POSTGRES_URL
    running = running_console(url, var_dir)
    try:
        yield Seeded(running, seed(running))
    finally:
        running.stop()


def stats(seeded: Seeded, days: int | None = None) -> dict[str, Any]:
    params = {"days": str(days)} if days is not None else {}
    answer = seeded.platform.get("/api/v1/stats", params=params, headers=seeded.platform.staff)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def counts(entries: list[dict[str, Any]], key: str) -> dict[str, int]:
    return {entry[key]: entry["count"] for entry in entries}


def test_the_period_is_the_last_days_in_beijing_time_today_included(seeded: Seeded) -> None:
    found = stats(seeded)
    assert (found["days"], found["to"]) == (30, seeded.today.isoformat())
    assert found["from"] == (seeded.today - timedelta(days=29)).isoformat()
    assert found["since"] == f"{found['from']}T00:00:00+08:00"


def test_reports_are_counted_by_category_most_first_with_both_names(seeded: Seeded) -> None:
    found = stats(seeded, 30)["complaints"]
    assert found["total"] == 9
    assert [(entry["category"], entry["count"]) for entry in found["by_category"]] == [
        ("road-damage", 3),
        ("education", 2),
        ("healthcare", 2),
        ("noise", 1),
        ("sanitation", 1),
    ]
    assert found["by_category"][0]["name"] == {"zh": "道路及市政设施损坏", "en": "Damaged roads or public facilities"}


def test_reports_are_counted_by_the_region_of_the_office_they_went_to(seeded: Seeded) -> None:
    by_region = {entry["region_code"]: entry for entry in stats(seeded, 30)["complaints"]["by_region"]}
    assert {code: entry["count"] for code, entry in by_region.items()} == {WUHOU: 7, HAIDIAN: 2}
    assert by_region[WUHOU]["name"] == {"zh": "成都市武侯区", "en": "Wuhou District, Chengdu"}


def test_answers_are_on_time_up_to_the_end_of_the_response_day_in_beijing(seeded: Seeded) -> None:
    response = stats(seeded, 30)["complaints"]["response"]
    # On time: two responded and rated, one closed as a duplicate, one at 23:30 on its response day.
    # Late: one answered today for five days ago, one at 00:30 the day after. Pending: one
    # sent back for a new round by a dissatisfied rating, one not yet due.
    assert response == {"on_time": 4, "late": 2, "overdue": 1, "pending": 2, "on_time_rate": round(4 / 7, 4)}


def test_the_overdue_figure_agrees_with_the_staff_lists_overdue_flag(seeded: Seeded) -> None:
    listed = seeded.platform.get("/api/v1/complaints", params={"overdue": "true"}, headers=seeded.platform.staff)
    assert stats(seeded, 90)["complaints"]["response"]["overdue"] == listed.json()["total"] == 2


def test_satisfaction_counts_each_reports_latest_rating(seeded: Seeded) -> None:
    satisfaction = stats(seeded, 30)["complaints"]["satisfaction"]
    assert satisfaction == {
        "satisfied": 1,
        "basically_satisfied": 1,
        "dissatisfied": 1,
        "rated": 3,
        "rate": round(2 / 3, 4),
    }


def test_applications_are_counted_by_status_in_procedure_order(seeded: Seeded) -> None:
    applications = stats(seeded, 30)["applications"]
    assert applications["total"] == 4
    assert [(entry["status"], entry["stage"], entry["count"]) for entry in applications["by_status"]] == [
        ("received", "reception", 1),
        ("supplement_required", "reception", 0),
        ("in_review", "approval", 1),
        ("approved", "approval", 2),
        ("rejected", "approval", 0),
        ("ready_for_collection", "completion", 0),
        ("completed", "completion", 0),
    ]


def test_the_period_leaves_out_what_was_filed_before_it(seeded: Seeded) -> None:
    week, quarter = stats(seeded, 7), stats(seeded, 90)
    assert week["complaints"]["total"] == 5
    assert counts(week["complaints"]["by_category"], "category") == {"road-damage": 3, "noise": 1, "sanitation": 1}
    assert week["complaints"]["response"] == {
        "on_time": 3,
        "late": 0,
        "overdue": 0,
        "pending": 2,
        "on_time_rate": 1.0,
    }
    assert quarter["complaints"]["total"] == 10
    assert counts(quarter["complaints"]["by_category"], "category")["other"] == 1
    assert quarter["complaints"]["response"]["overdue"] == 2
    assert (week["applications"]["total"], quarter["applications"]["total"]) == (4, 5)
    assert counts(quarter["applications"]["by_status"], "status")["received"] == 2


def test_the_openapi_fragment_describes_every_field_of_the_answer(seeded: Seeded) -> None:
    def undescribed(value: Any, schema: dict[str, Any], where: str) -> list[str]:
        if isinstance(value, dict):
            properties = schema.get("properties", {})
            missing = [f"{where}.{key}" for key in value if key not in properties]
            return missing + [
                gap for key in value if key in properties for gap in undescribed(value[key], properties[key], key)
            ]
        if isinstance(value, list):
            return [gap for item in value for gap in undescribed(item, schema["items"], where)]
        return []

    assert undescribed(stats(seeded), STATS_SCHEMAS["Stats"], "stats") == []

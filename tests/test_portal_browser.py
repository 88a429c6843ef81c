"""The citizen portal and its chat widget in a real browser (headless Chromium, driven by
playwright), against the real platform, action server and Rasa server with the socket.io
channel on (CONTRACT.md §4).

Needs what `tools/browser.sh` installs: /usr/bin/chromium and playwright in .venv.
Screenshots of the portal with a conversation go to bench/results/portal-*.png.
"""

from __future__ import annotations

import asyncio
import io
import re
import sys
import time
from collections.abc import Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import pytest
import requests
import socketio
from PIL import Image, PngImagePlugin

from bot.channels import socketio as web_chat
from bot.channels.socketio import SESSION_ID, SocketIOOutput, issued_here, new_session_id
from tools.stack import ROOT, Command, Process, Stack
from tools.train import ensure_model

try:
    from playwright.sync_api import Browser, Locator, Page, ViewportSize, expect, sync_playwright
except ImportError as missing:  # pragma: no cover
    raise ImportError("playwright is missing from .venv: run tools/browser.sh") from missing

T = TypeVar("T")
CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = ROOT / "bench" / "results"
DESKTOP: ViewportSize = {"width": 1366, "height": 900}
MOBILE: ViewportSize = {"width": 390, "height": 844}
ANSWER_TIMEOUT_MS = 30_000
expect.set_options(timeout=ANSWER_TIMEOUT_MS)

# The platform with the portal's and the uploads' routes, whether or not backend/app.py
# registers them yet (once it does, this is `python -m backend` exactly).
PLATFORM_WITH_PORTAL = """
import backend.__main__ as entry
from backend.api.portal import portal_routes
from backend.api.uploads import upload_routes

create_platform = entry.create_app

def create_app(*args, **kwargs):
    app = create_platform(*args, **kwargs)
    for routes in (portal_routes, upload_routes):
        if routes.name not in app.blueprints:
            app.blueprint(routes)
    return app

entry.create_app = create_app
entry.main()
"""
CREDENTIALS = """\
bot.channels.rest.RestInput:
bot.channels.socketio.SocketIOInput:
  session_persistence: true
"""
ID_NUMBER = "11010519491231002X"
PHONE = "13912345678"
APPLICATION = [  # tests/test_reception_e2e.py STEPS["zh"], then the summary confirmed
    "在成都武侯区开小吃店要办食品经营许可吗",
    "我要在线申请",
    "是",  # once per eligibility question
    "齐了",
    "钱多多",
    ID_NUMBER,
    PHONE,
    "窗口领取",
    "核对无误，提交吧",
]


class PortalStack(Stack):
    """The three processes, the platform serving the portal and Rasa with socket.io on."""

    def start_process(self, command: Command) -> Process:
        if command.name == "platform":
            command = replace(command, argv=[sys.executable, "-c", PLATFORM_WITH_PORTAL])
        if command.name == "rasa":
            credentials = self.var_dir / "credentials.yml"
            credentials.write_text(CREDENTIALS, encoding="utf-8")
            argv = list(command.argv)
            argv[argv.index("--credentials") + 1] = str(credentials)
            command = replace(command, argv=argv, env={**command.env, "ZW_VAR_DIR": str(self.var_dir)})
        return super().start_process(command)

    @property
    def platform_url(self) -> str:
        return self.processes["platform"].url

    def staff(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {(self.var_dir / 'staff-token').read_text().strip()}"}


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PortalStack]:
    running = PortalStack(Path(tmp_path_factory.mktemp("portal")), ensure_model())
    try:
        running.start()
        yield running
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
def page(browser: Browser, stack: PortalStack) -> Iterator[Page]:
    context = browser.new_context(viewport=DESKTOP, locale="zh-CN")
    opened = context.new_page()
    opened.set_default_timeout(ANSWER_TIMEOUT_MS)
    yield opened
    context.close()


def open_portal(page: Page, stack: PortalStack) -> None:
    page.goto(stack.platform_url + "/")
    expect(page.locator("body[data-ready=true]")).to_be_attached()
    expect(page.locator("#zw-chat[data-connection=online]")).to_be_attached()


def bot_messages(page: Page) -> Locator:
    return page.locator("#zw-chat-log .msg-bot:not(.msg-welcome)")


def say(page: Page, message: str) -> str:
    """Types `message` into the widget and sends it; the text of the answers it got."""
    before = bot_messages(page).count()
    page.fill("#zw-chat-input", message)
    page.press("#zw-chat-input", "Enter")
    return wait_for_answers(page, before)


def wait_for_answers(page: Page, before: int) -> str:
    """Waits for the bot's messages after the first `before` to arrive and stop coming."""
    expect(bot_messages(page)).not_to_have_count(before)
    count, settled = bot_messages(page).count(), time.monotonic()
    while time.monotonic() - settled < 0.6:
        time.sleep(0.1)
        if bot_messages(page).count() != count:
            count, settled = bot_messages(page).count(), time.monotonic()
    return "\n".join(bot_messages(page).nth(index).inner_text() for index in range(before, count))


def eligibility_questions(stack: PortalStack) -> int:
    service = requests.get(f"{stack.platform_url}/api/v1/services/food-business-licence", timeout=10).json()
    return len(service.get("eligibility_questions") or [])


def a_png() -> bytes:
    image = Image.new("RGB", (64, 48), (200, 60, 40))
    written = io.BytesIO()
    image.save(written, format="PNG")
    return written.getvalue()


def test_the_portal_loads_everything_from_this_machine_and_switches_language(page: Page, stack: PortalStack) -> None:
    hosts: set[str] = set()
    errors: list[str] = []
    page.on("request", lambda request: hosts.add(urlsplit(request.url).hostname or request.url))
    page.on("websocket", lambda socket: hosts.add(urlsplit(socket.url).hostname or socket.url))
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    open_portal(page, stack)
    expect(page.locator("h1")).to_have_text("您要办什么事？")
    expect(page.locator("#zw-popular li")).to_have_count(8)
    expect(page.locator("#zw-life-events li")).to_have_count(5)

    page.fill("#zw-search-input", "护照")
    page.press("#zw-search-input", "Enter")
    expect(page.locator('#zw-results-list [data-service-id="passport"]')).to_be_visible()

    page.click("#zw-lang-en")
    expect(page.locator("h1")).to_have_text("What do you need to get done?")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("#zw-lang-en")).to_have_attribute("aria-pressed", "true")
    passport = re.compile("passport", re.IGNORECASE)
    expect(page.locator('#zw-popular [data-service-id="passport"]')).to_contain_text(passport)
    expect(page.locator('#zw-results-list [data-service-id="passport"] h3')).to_contain_text(passport)
    page.click('#zw-life-events [data-event="baby"]')
    expect(page.locator("#zw-results-heading")).to_contain_text("Having a baby")
    expect(page.locator('#zw-results-list [data-service-id="birth-registration"]')).to_be_visible()

    say(page, "护照怎么办")  # metadata.lang: the answer follows the switch, not the words
    expect(page.locator('#zw-chat-log [data-card="service_card"]')).to_contain_text(passport)
    expect(page.locator('#zw-chat-log [data-card="service_card"]')).to_contain_text("Time limit")

    page.click("#zw-lang-zh")
    expect(page.locator("#zw-chat-send")).to_have_text("发送")
    expect(page.locator('#zw-chat-log [data-card="service_card"]')).to_contain_text("办理时限")
    assert hosts <= {"127.0.0.1", "localhost"}, hosts
    assert errors == [], "no script error, nothing refused by the Content-Security-Policy"


def test_a_service_question_ends_in_an_application_receipt_drawn_as_a_card(page: Page, stack: PortalStack) -> None:
    open_portal(page, stack)
    answers = say(page, APPLICATION[0])
    card = page.locator('#zw-chat-log [data-card="service_card"]')
    expect(card).to_have_count(1)
    expect(card).to_contain_text("食品经营许可")
    expect(card).to_contain_text("成都市武侯区")
    assert "【食品经营许可】" not in answers, "the card replaces its text: nothing is said twice"
    for message in APPLICATION[1:]:
        for _ in range(eligibility_questions(stack) if message == "是" else 1):
            answers = say(page, message)
    receipt = page.locator('#zw-chat-log [data-card="application_receipt"]')
    expect(receipt).to_be_visible()
    application_id = re.search(r"ZW\d{8}-[0-9A-Z]{6}", receipt.inner_text())
    assert application_id, receipt.inner_text()
    expect(page.locator("#zw-chat-log")).not_to_contain_text(ID_NUMBER)
    expect(page.locator("#zw-chat-log")).not_to_contain_text(PHONE)
    kept = str(page.evaluate("JSON.stringify(localStorage)"))
    assert ID_NUMBER not in kept and PHONE not in kept and "1101**********002X" in kept
    stored = requests.get(
        f"{stack.platform_url}/api/v1/applications/{application_id.group(0)}", headers=stack.staff(), timeout=10
    ).json()
    assert stored["channel"] == "socketio" and stored["conversation_id"].startswith("web-")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "portal-desktop.png"))


def test_a_problem_report_with_a_photo_uploaded_in_the_widget(page: Page, stack: PortalStack) -> None:
    open_portal(page, stack)
    asked = say(page, "小区门口的路灯坏了一个月，在成都武侯区玉林路")
    assert "照片" in asked, asked
    before = bot_messages(page).count()
    page.set_input_files("#zw-photo-input", {"name": "streetlight.png", "mimeType": "image/png", "buffer": a_png()})
    photo = page.locator("#zw-chat-log .msg-user img.photo")
    expect(photo).to_be_visible()
    url = str(photo.get_attribute("src"))
    assert url.startswith(f"{stack.platform_url}/api/v1/uploads/") and url.endswith(".png"), url
    assert "匿名" in wait_for_answers(page, before), "the photo answered the question: the contact is next"
    say(page, "匿名")
    say(page, "对的，提交")
    receipt = page.locator('#zw-chat-log [data-card="complaint_receipt"]')
    expect(receipt).to_be_visible()
    expect(receipt).to_contain_text("查询码")  # an anonymous reporter's follow-up code is kept under the card
    complaint_id = re.search(r"GD\d{8}-[0-9A-Z]{6}", receipt.inner_text())
    assert complaint_id, receipt.inner_text()
    filed = requests.get(
        f"{stack.platform_url}/api/v1/complaints/{complaint_id.group(0)}", headers=stack.staff(), timeout=10
    ).json()
    assert filed["photo_urls"] == [url]
    assert filed["channel"] == "socketio" and filed["category"] == "road-damage"
    served = requests.get(url, timeout=10)
    assert served.headers["Content-Type"] == "image/png" and served.headers["X-Content-Type-Options"] == "nosniff"
    assert Image.open(io.BytesIO(served.content)).size == (64, 48)


def test_a_status_check_draws_the_timeline_and_an_emergency_the_number(page: Page, stack: PortalStack) -> None:
    filed = requests.post(
        f"{stack.platform_url}/api/v1/complaints",
        json={
            "category": "noise",
            "request_type": "complaint",
            "description": "楼下烧烤店半夜很吵",
            "location": {"region_code": "510107"},
            "contact": {"phone": "13700001234"},
            "channel": "rest",
            "lang": "zh",
        },
        timeout=10,
    ).json()
    requests.post(
        f"{stack.platform_url}/api/v1/complaints/{filed['complaint_id']}/updates",
        json={"status": "in_progress", "note": "已联系城管核查"},
        headers=stack.staff(),
        timeout=10,
    ).raise_for_status()
    open_portal(page, stack)
    say(page, "我反映的问题现在什么进度")
    say(page, filed["complaint_id"])
    say(page, "1234")
    status = page.locator('#zw-chat-log [data-card="complaint_status"]').last
    expect(status).to_be_visible()
    expect(status).to_contain_text(filed["complaint_id"])
    expect(status).to_contain_text("已联系城管核查")  # the staff note, on the timeline
    say(page, "楼下着火了，烟很大")
    emergency = page.locator('#zw-chat-log [data-card="emergency"]').last
    expect(emergency).to_be_visible()
    expect(emergency.locator('a[href="tel:119"]')).to_be_visible()


def test_a_reload_keeps_the_conversation(page: Page, stack: PortalStack) -> None:
    open_portal(page, stack)
    say(page, APPLICATION[0])
    session = page.evaluate("localStorage.getItem('zw.chat.session')")
    page.reload()
    expect(page.locator("#zw-chat[data-connection=online]")).to_be_attached()
    expect(page.locator('#zw-chat-log [data-card="service_card"]')).to_contain_text("食品经营许可")
    assert page.evaluate("localStorage.getItem('zw.chat.session')") == session
    assert page.locator("#zw-chat").get_attribute("data-session") == session.strip('"')
    first_question = requests.get(f"{stack.platform_url}/api/v1/services/food-business-licence", timeout=10).json()[
        "eligibility_questions"
    ][0]
    assert first_question in say(page, APPLICATION[1]), "the assistant remembers which item and region"


def test_keyboard_only_tab_to_the_input_type_and_enter_sends(page: Page, stack: PortalStack) -> None:
    open_portal(page, stack)
    for _ in range(60):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "zw-chat-input":
            break
    else:
        pytest.fail("Tab never reached the chat input")
    before = bot_messages(page).count()
    page.keyboard.type("护照怎么办")
    page.keyboard.press("Enter")
    expect(page.locator("#zw-chat-log .msg-user").last).to_contain_text("护照怎么办")
    wait_for_answers(page, before)
    expect(page.locator('#zw-chat-log [data-card="service_card"]')).to_contain_text("护照")
    assert page.evaluate("document.activeElement.id") == "zw-chat-input", "focus stays in the input"
    log = page.locator("#zw-chat-log")
    assert log.get_attribute("role") == "log" and log.get_attribute("aria-live") == "polite"
    expect(page.locator("#zw-chat-input")).to_have_accessible_name("输入您的问题")
    expect(page.locator("#zw-photo-button")).to_have_accessible_name("上传照片")


def test_on_a_phone_the_chat_opens_over_the_page(browser: Browser, stack: PortalStack) -> None:
    context = browser.new_context(viewport=MOBILE, locale="zh-CN", is_mobile=True, has_touch=True)
    page = context.new_page()
    try:
        open_portal(page, stack)
        expect(page.locator("#zw-chat")).to_be_hidden()
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "portal-mobile.png"))
        page.click("#zw-chat-open")
        expect(page.locator("#zw-chat")).to_be_visible()
        expect(page.locator("#zw-chat-input")).to_be_focused()
        say(page, "我要在成都武侯区办理护照")
        expect(page.locator('#zw-chat-log [data-card="service_card"]')).to_be_visible()
        page.screenshot(path=str(SCREENSHOTS / "portal-mobile-chat.png"))
        page.keyboard.press("Escape")
        expect(page.locator("#zw-chat")).to_be_hidden()
        expect(page.locator("#zw-chat-open")).to_be_focused()
    finally:
        context.close()


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    """Runs `coroutine` on a loop of its own thread: playwright's sync API keeps one running in this one."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


class RecordingServer:
    """Stands in for python-socketio's AsyncServer: records what is emitted."""

    def __init__(self) -> None:
        self.emitted: list[tuple[str, Any, Any]] = []

    async def emit(self, event: str, data: Any = None, room: Any = None, **kwargs: Any) -> None:
        self.emitted.append((event, data, room))


def test_a_custom_payload_and_its_text_leave_as_one_message() -> None:
    server = RecordingServer()
    output = SocketIOOutput(server, "bot_uttered")
    card = {"type": "service_card", "service": {"id": "passport"}, "office": None}
    buttons = [{"title": "我要办理", "payload": "/apply"}]
    run(output.send_response("web-x", {"text": "【普通护照签发】\n\n收费：120元", "custom": card, "buttons": buttons}))
    run(output.send_response("web-x", {"custom": {"type": "emergency", "number": "119"}}))
    run(output.send_response("web-x", {"text": "第一段\n\n第二段"}))
    assert server.emitted == [
        (
            "bot_uttered",
            {
                "custom": card,
                "text": "【普通护照签发】\n\n收费：120元",
                "quick_replies": [{"content_type": "text", "title": "我要办理", "payload": "/apply"}],
            },
            "web-x",
        ),
        ("bot_uttered", {"custom": {"type": "emergency", "number": "119"}}, "web-x"),
        ("bot_uttered", {"text": "第一段"}, "web-x"),  # plain text keeps Rasa's shapes
        ("bot_uttered", {"text": "第二段"}, "web-x"),
    ]


def test_only_session_ids_this_server_issued_are_accepted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ZW_SESSION_KEY", "a key for this test")
    web_chat._session_key.cache_clear()
    issued = new_session_id()
    assert issued_here(issued) and issued.startswith("web-")
    forged = issued[:-1] + ("0" if issued[-1] != "0" else "1")
    assert not issued_here(forged)
    assert not issued_here("apply-zh") and not issued_here(None) and not issued_here(issued.upper())
    monkeypatch.setenv("ZW_SESSION_KEY", "another server's key")
    web_chat._session_key.cache_clear()
    assert not issued_here(issued)
    web_chat._session_key.cache_clear()


def test_over_the_socket_a_chosen_session_id_reaches_no_other_conversation(stack: PortalStack) -> None:
    run(_talk_over_the_socket(stack))


async def _talk_over_the_socket(stack: PortalStack) -> None:
    client = socketio.AsyncClient()
    confirmed: asyncio.Queue[str] = asyncio.Queue()
    answers: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    client.on("session_confirm", confirmed.put)
    client.on("bot_uttered", answers.put)
    # Long-polling: the aiohttp pinned for Rasa is older than engineio's websocket client expects.
    await client.connect(stack.rasa_url, transports=["polling"], socketio_path="/socket.io")
    try:
        await client.emit("session_request", {"session_id": "report-one-zh"})  # someone else's conversation
        own = await asyncio.wait_for(confirmed.get(), 10)
        assert SESSION_ID.match(own), own
        await client.emit("session_request", {"session_id": own})
        assert await asyncio.wait_for(confirmed.get(), 10) == own, "an issued id is kept (a reload)"
        await client.emit("user_uttered", {"message": "护照怎么办", "session_id": "victim", "metadata": {"lang": "en"}})
        answer = await asyncio.wait_for(answers.get(), 30)
        assert answer["custom"]["type"] == "service_card" and "passport" in answer["text"].lower()
    finally:
        await client.disconnect()
    for sender, expected in ((own, True), ("victim", False)):
        tracker = requests.get(
            f"{stack.rasa_url}/conversations/{sender}/tracker", params={"token": stack.token}, timeout=10
        ).json()
        said = [event.get("text") for event in tracker["events"] if event.get("event") == "user"]
        assert ("护照怎么办" in said) is expected, (sender, said)


def upload(stack: PortalStack, body: bytes, content_type: str) -> requests.Response:
    return requests.post(
        f"{stack.platform_url}/api/v1/uploads", data=body, headers={"Content-Type": content_type}, timeout=10
    )


def test_uploads_take_only_real_images_up_to_5_mb_and_drop_their_metadata(stack: PortalStack) -> None:
    assert upload(stack, b"hello", "text/plain").status_code == 415
    assert upload(stack, b"<svg onload=alert(1)>", "image/png").status_code == 415
    assert upload(stack, b"\x89PNG\r\n\x1a\n" + b"\0" * 100, "image/png").status_code == 415, "magic bytes alone"
    assert upload(stack, a_png(), "image/jpeg").status_code == 415, "the body must be what it says"
    too_big = upload(stack, b"\xff\xd8\xff" + b"\0" * (5 * 1024 * 1024), "image/jpeg")
    assert too_big.status_code == 413 and too_big.json()["error"]["code"] == "payload_too_large"

    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "taken at 30.6586N 104.0648E")
    tagged = io.BytesIO()
    Image.new("RGB", (8, 8), (0, 90, 200)).save(tagged, format="PNG", pnginfo=info)
    stored = upload(stack, tagged.getvalue(), "image/png")
    assert stored.status_code == 201, stored.text
    url = stored.json()["url"]
    served = requests.get(url, timeout=10)
    assert served.status_code == 200 and b"104.0648E" not in served.content
    assert requests.get(f"{stack.platform_url}/api/v1/uploads/..%2Fplatform.db", timeout=10).status_code == 404
    assert requests.get(f"{stack.platform_url}/api/v1/uploads/{'A' * 22}.png", timeout=10).status_code == 404

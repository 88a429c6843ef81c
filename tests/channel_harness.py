"""What the WeChat and Weibo channel tests share: a stand-in assistant and the channel's
blueprint served on a Sanic app of its own, so the endpoint can be tested without Rasa."""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import Callable
from typing import Any

from rasa.core.channels.channel import InputChannel, UserMessage
from sanic import Sanic

from tools.stack import free_port


class StandIn:
    """An assistant that answers "收到：<text>" (or what `answers` says) after `delay` seconds."""

    def __init__(self) -> None:
        self.heard: list[UserMessage] = []
        self.delay = 0.0
        self.answers: Callable[[str], list[dict[str, Any]]] = lambda text: [{"text": f"收到：{text}"}]

    async def __call__(self, message: UserMessage) -> None:
        self.heard.append(message)
        await asyncio.sleep(self.delay)
        for answer in self.answers(message.text or ""):
            await message.output_channel.send_response(message.sender_id, answer)


class ChannelServer:
    """The channel's blueprint on a Sanic app of its own, served from a thread."""

    def __init__(self, channel: InputChannel, assistant: StandIn) -> None:
        self.channel = channel
        port = free_port()
        self.url = f"http://127.0.0.1:{port}/webhooks/{channel.name()}/webhook"
        Sanic.test_mode = True  # as sanic-testing does: several apps in one process
        app = Sanic(f"channel_test_{uuid.uuid4().hex[:8]}")
        app.blueprint(channel.blueprint(assistant), url_prefix=f"/webhooks/{channel.name()}")
        self.loop = asyncio.new_event_loop()
        self.server: Any = None
        started = threading.Event()

        def serve() -> None:
            asyncio.set_event_loop(self.loop)
            self.server = self.loop.run_until_complete(
                app.create_server(host="127.0.0.1", port=port, return_asyncio_server=True, access_log=False)
            )
            self.loop.run_until_complete(self.server.startup())
            started.set()
            self.loop.run_forever()

        threading.Thread(target=serve, daemon=True).start()
        assert started.wait(10)

    def stop(self) -> None:
        def close() -> None:
            self.server.close()
            self.loop.stop()

        self.loop.call_soon_threadsafe(close)

"""Tracker stores the Rasa server can be configured with in endpoints.yml."""

from bot.speedups import apply as _speed_up_rasa

_speed_up_rasa()  # loaded only by the Rasa server: see bot/speedups.py

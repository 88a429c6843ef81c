"""Custom NLU components the Rasa server loads (see config.yml): tokenizer and region extractor."""

from bot.speedups import apply as _speed_up_rasa

_speed_up_rasa()  # loaded only by the Rasa server: see bot/speedups.py

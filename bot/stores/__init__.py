"""Tracker stores the Rasa server can be configured with in endpoints.yml."""

"""Input channels the Rasa server opens (credentials.yml)."""

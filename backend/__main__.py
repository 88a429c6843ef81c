"""`python -m backend`: run the service platform on PLATFORM_HOST:PLATFORM_PORT (default :8000)."""

from __future__ import annotations

import logging

from backend.app import create_app, load_catalogue
from backend.settings import Settings
from backend.store import make_engine


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = Settings.from_env()
    engine = make_engine(settings.database_url)
    app = create_app(settings, load_catalogue(settings, engine), engine=engine)
    app.run(host=settings.host, port=settings.port, access_log=False)


if __name__ == "__main__":
    main()

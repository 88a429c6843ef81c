"""Train the assistant's model only when what it is trained from has changed.

The model is named after a digest of its inputs (config, domain, training data, region
data and the custom components' code), so `models/` tells at a glance whether the model
matches the checkout: `python -m tools.train` trains if, and only if, it does not.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MODELS = ROOT / "models"
PREFIX = "zhengwu-"
INPUTS = ("config.yml", "domain.yml", "data/nlu", "data/rules", "data/regions", "bot/nlu", "requirements.lock")


def fingerprint() -> str:
    digest = hashlib.sha256()
    for name in INPUTS:
        path = ROOT / name
        files = (
            sorted(p for p in path.rglob("*") if p.is_file() and "__pycache__" not in p.parts)
            if path.is_dir()
            else [path]
        )
        for file in files:
            digest.update(str(file.relative_to(ROOT)).encode())
            digest.update(file.read_bytes())
    return digest.hexdigest()[:16]


def model_path() -> Path:
    return MODELS / f"{PREFIX}{fingerprint()}.tar.gz"


def ensure_model(force: bool = False) -> Path:
    """The model for this checkout, trained first if missing; older models removed."""
    path = model_path()
    if path.exists() and not force:
        print(f"model up to date: {path.relative_to(ROOT)}", flush=True)
        return path
    started = time.monotonic()
    command = [sys.executable, "-m", "rasa", "train", "--out", str(MODELS), "--fixed-model-name", path.name[:-7]]
    subprocess.run(command, cwd=ROOT, check=True)
    print(f"trained {path.relative_to(ROOT)} in {time.monotonic() - started:.1f} s", flush=True)
    for old in MODELS.glob(f"{PREFIX}*.tar.gz"):
        if old != path:
            old.unlink()
    return path


if __name__ == "__main__":
    if "--path" in sys.argv:
        print(model_path().relative_to(ROOT))
    else:
        ensure_model(force="--force" in sys.argv)

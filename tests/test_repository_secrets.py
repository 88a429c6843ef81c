"""No secret in the repository: every key, token and password comes from the environment,
.env or var/ (generated on first use), none of which is tracked. Test vectors published by
Tencent and Weibo, and made-up tokens of the tests and benchmarks, are not secrets and
live only under tests/ and bench/."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ASSIGNED_SECRET = re.compile(
    r"(secret|token|password|passwd|api_?key|aes_?key|private_?key)[\"']?\s*[:=]\s*[\"']?([A-Za-z0-9_+/=\-]{16,})",
    re.IGNORECASE,
)
PRIVATE_KEY = re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----")
ALLOWED_DIRECTORIES = ("tests/", "bench/")


def tracked_files() -> list[str]:
    listed = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True)
    return listed.stdout.split()


def test_no_secret_file_is_tracked() -> None:
    names = tracked_files()
    assert names, "not a git checkout"
    forbidden = [name for name in names if re.search(r"(^|/)(\.env(\..*)?|.*\.pem|.*\.key|id_rsa.*)$", name)]
    assert forbidden == []
    ignored = (ROOT / ".gitignore").read_text().split()
    assert {"var/", ".env"} <= set(ignored) or {"/var/", "/.env"} <= set(ignored)


def test_no_secret_value_in_code_or_configuration() -> None:
    found = []
    for name in tracked_files():
        path = ROOT / name
        if name.startswith(ALLOWED_DIRECTORIES) or not path.is_file() or path.suffix in {".png", ".gz", ".lock"}:
            continue
        text = path.read_text(encoding="utf-8", errors="ignore")
        if PRIVATE_KEY.search(text):
            found.append(f"{name}: a private key")
        for match in ASSIGNED_SECRET.finditer(text):
            value = match.group(2)
            if value.startswith("$") or value.isupper() or (value.islower() and "_" in value):
                continue  # ${VAR}, an environment variable's name, a setting's name
            found.append(f"{name}: {match.group(1)} = {value[:4]}…")
    assert found == []

"""The platform's half of the fuzz benchmark (bench/fuzz.py): its API as its OpenAPI
document describes it, through schemathesis, and the same routes, Open311 and uploads
with what no schema would generate (Hypothesis).

Schemathesis 4 wants Python 3.11 and newer libraries than Rasa's pins, so it lives in a
virtualenv of its own, `.venv-fuzz`, made here on first use (with python3.13, 3.12 or
3.11 from PATH; on 3.10 alone, schemathesis 4.30.1, the last for it) and run as a
command against the running platform. It runs twice: once as it likes, once with the
ids and codes of a report and an application filed first, so the routes behind them are
reached too. Its NDJSON report gives every request it made and the status it got.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import quote

import requests
from hypothesis import strategies as st

from backend.procedure.identity import check_character
from bench.fuzz_probes import Probe, draw
from tests.fuzz_strategies import any_text, json_values
from tools.stack import ROOT

SCHEMATHESIS = "schemathesis==4.32.5"
SCHEMATHESIS_ON_310 = "schemathesis==4.30.1"
FUZZ_VENV = ROOT / ".venv-fuzz"
ID_FIRST17 = "51010719850612345"
PHONE = "13987654321"


# --- schemathesis in its own virtualenv ---------------------------------------------------


def _runnable(name: str) -> str | None:
    """The path of a Python on PATH that runs (pyenv's shims exist for versions not chosen)."""
    found = shutil.which(name)
    if found is None:
        return None
    works = subprocess.run([found, "--version"], capture_output=True, check=False).returncode == 0
    return found if works else None


def fuzz_venv() -> tuple[Path, str]:
    """The `st` command of .venv-fuzz, made or brought to the pinned version if need be."""
    newer = next((found for name in ("python3.13", "python3.12", "python3.11") if (found := _runnable(name))), None)
    wanted = SCHEMATHESIS if newer else SCHEMATHESIS_ON_310
    st_command = FUZZ_VENV / "bin" / "st"
    if st_command.exists():
        installed = subprocess.run([str(st_command), "--version"], capture_output=True, text=True, check=False)
        if wanted.split("==")[1] in installed.stdout:
            return st_command, wanted
    if not (FUZZ_VENV / "bin" / "python").exists():
        print(f"creating {FUZZ_VENV.name} with {newer or sys.executable} for {wanted}", flush=True)
        subprocess.run([newer or sys.executable, "-m", "venv", str(FUZZ_VENV)], check=True)
    pip = [str(FUZZ_VENV / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    subprocess.run([*pip, wanted], check=True)
    return st_command, wanted


def seed_records(platform: str, staff_token: str) -> dict[str, str]:
    """A report and an application to aim at: their ids and the codes that open them."""
    id_number = ID_FIRST17 + check_character(ID_FIRST17)
    application = {
        "service_id": "passport",
        "region_code": "510107",
        "applicant": {"name": "欧阳晓梅", "id_number": id_number, "phone": PHONE},
        "delivery": "mail",
        "channel": "rest",
        "lang": "zh",
    }
    complaint = {
        "category": "road-damage",
        "request_type": "help",
        "description": "路灯不亮",
        "location": {"region_code": "510107"},
        "contact": {"phone": PHONE},
        "channel": "rest",
        "lang": "zh",
    }
    applied = requests.post(f"{platform}/api/v1/applications", json=application, timeout=30)
    filed = requests.post(f"{platform}/api/v1/complaints", json=complaint, timeout=30)
    applied.raise_for_status()
    filed.raise_for_status()
    return {
        "application_id": applied.json()["application_id"],
        "application_code": id_number[-4:],
        "complaint_id": filed.json()["complaint_id"],
        "complaint_code": PHONE[-4:],
        "staff_token": staff_token,
    }


def schemathesis_config(seeded: dict[str, str]) -> str:
    """Every operation on an application or a report gets the seeded id and its code."""
    blocks = []
    for path, record in (("applications", "application"), ("complaints", "complaint")):
        blocks.append(
            "[[operations]]\n"
            f'include-path-regex = "^/api/v1/{path}/\\\\{{id\\\\}}"\n'
            f'parameters = {{ "path.id" = "{seeded[record + "_id"]}", '
            f'"header.X-Verify-Code" = "{seeded[record + "_code"]}" }}\n'
        )
    return "\n".join(blocks)


def run_schemathesis(
    platform: str, staff_token: str, examples: int, seed: int, work: Path, seeded: dict[str, str] | None
) -> dict[str, Any]:
    """One schemathesis run over every operation; its requests by operation and status."""
    st_command, version = fuzz_venv()
    report = work / f"schemathesis-{'seeded' if seeded else 'free'}.ndjson"
    command = [str(st_command)]
    if seeded:
        config = work / "schemathesis.toml"
        config.write_text(schemathesis_config(seeded), encoding="utf-8")
        command += ["--config-file", str(config)]
    command += ["run", f"{platform}/api/v1/openapi.json", "--checks", "not_a_server_error"]
    command += ["--header", f"Authorization: Bearer {staff_token}", "--max-examples", str(examples)]
    command += ["--seed", str(seed), "--workers", "2", "--request-timeout", "30", "--no-color"]
    command += ["--report", "ndjson", "--report-ndjson-path", str(report)]
    started = time.perf_counter()
    finished = subprocess.run(command, capture_output=True, text=True, cwd=work, check=False)
    seconds = time.perf_counter() - started
    (work / report.with_suffix(".log").name).write_text(finished.stdout + finished.stderr, encoding="utf-8")
    if not report.exists():
        raise RuntimeError(f"schemathesis wrote no report:\n{finished.stdout[-3000:]}{finished.stderr[-3000:]}")
    return {"version": version, "exit_code": finished.returncode, "seconds": round(seconds, 1)} | read_report(report)


def read_report(path: Path) -> dict[str, Any]:
    statuses: Counter[str] = Counter()
    by_operation: dict[str, Counter[str]] = {}
    server_errors: list[dict[str, Any]] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        event = json.loads(line)
        finished = event.get("ScenarioFinished")
        if not finished:
            continue
        cases = finished["recorder"].get("cases", {})
        for case_id, interaction in finished["recorder"].get("interactions", {}).items():
            case = cases.get(case_id, {}).get("value", {})
            operation = f"{case.get('method', '?')} {case.get('path', '?')}"
            status = str((interaction.get("response") or {}).get("status_code", "no answer"))
            statuses[status] += 1
            by_operation.setdefault(operation, Counter())[status] += 1
            if not status.isdigit() or int(status) >= 500:
                request = interaction.get("request", {})
                server_errors.append({"operation": operation, "status": status, "uri": request.get("uri", "")[:300]})
    return {
        "requests": sum(statuses.values()),
        "operations": len(by_operation),
        "statuses": dict(sorted(statuses.items())),
        "by_operation": {name: dict(sorted(counts.items())) for name, counts in sorted(by_operation.items())},
        "server_errors": server_errors[:20],
    }


# --- What no schema generates --------------------------------------------------------------

NUMBERS = st.sampled_from(["²", "١٢", "1" * 5000, "-1", "0", "1e3", " 7 ", "99999999999999999999", "0x10"])
QUERY_VALUES = st.one_of(any_text, NUMBERS, st.binary(max_size=12))
HEADER_TEXT = st.from_regex(r"[!-~][ -~]{0,150}", fullmatch=True)  # what an HTTP client will send
HEADERS = st.fixed_dictionaries(
    {},
    optional={
        "X-Verify-Code": st.sampled_from(["4321", "0000", "²²²²", "ÿ", ""]) | HEADER_TEXT,
        "Idempotency-Key": st.sampled_from(["²", "clé"]) | HEADER_TEXT,
        "Authorization": st.sampled_from(["Bearer", "Bearer x", "Bearer ²", "Basic Zm9vOmJhcg==", ""]),
        "Content-Type": st.sampled_from(
            ["application/json", "text/plain", "application/xml", "multipart/form-data; boundary=x", "image/png", ""]
        ),
    },
)
BODIES = st.one_of(
    json_values.map(lambda value: json.dumps(value).encode()),
    st.dictionaries(
        st.sampled_from(["service_id", "region_code", "applicant", "location", "contact", "lat", "long"]), json_values
    ).map(lambda value: json.dumps(value).encode()),
    st.binary(max_size=400),
)


def _query(pairs: list[tuple[str, str | bytes]]) -> str:
    """A query string, values percent-encoded from their bytes (invalid UTF-8 stays invalid)."""

    def encoded(value: str | bytes) -> str:
        raw = value if isinstance(value, bytes) else value.encode("utf-8", "surrogatepass")
        return quote(raw, safe="")

    return "&".join(f"{encoded(name)}={encoded(value)}" for name, value in pairs)


def api_probes(openapi: dict[str, Any], count: int, seed: int, seeded: dict[str, str]) -> list[Probe]:
    """Requests to the routes of the OpenAPI document with any query, headers and body."""
    routes = [
        (method.upper(), path, [p["name"] for p in operation.get("parameters", []) if p.get("in") == "query"])
        for path, operations in openapi["paths"].items()
        for method, operation in operations.items()
        if method in ("get", "post")
    ]
    ids = st.sampled_from([seeded["application_id"], seeded["complaint_id"], "..", "%2e%2e", "ZW20261126-AAAAAA"])

    @st.composite
    def probe(draw_from: st.DrawFn) -> Probe:
        method, path, names = draw_from(st.sampled_from(routes))
        path = path.replace("{id}", quote(draw_from(ids | any_text.filter(bool)).encode("utf-8", "surrogatepass")))
        path = path.replace(
            "{name}", quote(draw_from(any_text | st.just("../../etc/passwd")).encode("utf-8", "surrogatepass"))
        )
        keys = st.sampled_from(names) if names else st.just("q")
        pairs = draw_from(st.lists(st.tuples(keys | any_text.filter(bool), QUERY_VALUES), max_size=4))
        headers = draw_from(HEADERS)
        if draw_from(st.booleans()):
            headers["Authorization"] = f"Bearer {seeded['staff_token']}"
        body = draw_from(BODIES) if method == "POST" else b""
        return Probe("platform", "platform", method, path, body, _query(pairs), headers, kind="any query, header, body")

    return draw(probe(), count, seed)


def open311_probes(count: int, seed: int, api_key: str) -> list[Probe]:
    """GeoReport v2: any resource, format, filter and form field, with and without the key."""
    resources = st.sampled_from(
        [
            "discovery.json",
            "services.json",
            "services.xml",
            "requests.json",
            "requests.xml",
            "services/road-damage.json",
        ]
    )
    form_names = st.sampled_from(
        ["service_code", "jurisdiction_id", "description", "lat", "long", "address_string", "email", "phone",
         "first_name", "media_url", "attribute[request_type]", "lang", "start_date", "end_date", "status",
         "service_request_id"]
    )  # fmt: skip

    @st.composite
    def probe(draw_from: st.DrawFn) -> Probe:
        resource = draw_from(resources | any_text.map(lambda text: quote(text.encode("utf-8", "surrogatepass"))))
        method = draw_from(st.sampled_from(["GET", "GET", "POST", "PUT", "DELETE"]))
        fields = draw_from(st.lists(st.tuples(form_names | any_text.filter(bool), QUERY_VALUES), max_size=6))
        if method == "POST" and draw_from(st.booleans()):
            fields.append(("api_key", api_key))
        body = _query(fields).encode() if method == "POST" else b""
        headers = {
            "Content-Type": draw_from(
                st.sampled_from(["application/x-www-form-urlencoded", "application/json", "text/xml"])
            )
        }
        query = "" if method == "POST" else _query(fields)
        return Probe("open311", "platform", method, f"/open311/v2/{resource}", body, query, headers, kind="GeoReport")

    return draw(probe(), count, seed)


def upload_probes(count: int, seed: int) -> list[Probe]:
    """Photos that are not: any bytes, declared as any image type."""

    @st.composite
    def probe(draw_from: st.DrawFn) -> Probe:
        body = draw_from(st.one_of(st.binary(max_size=2000), st.just(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64)))
        kind = draw_from(st.sampled_from(["image/png", "image/jpeg", "image/webp", "image/gif", "text/html", ""]))
        return Probe("uploads", "platform", "POST", "/api/v1/uploads", body, "", {"Content-Type": kind}, kind="photo")

    return draw(probe(), count, seed)


def staff_token_of(var_dir: Path) -> str:
    return os.environ.get("PLATFORM_STAFF_TOKEN") or (var_dir / "staff-token").read_text(encoding="utf-8").strip()


def open311_key_of(var_dir: Path) -> str:
    configured = os.environ.get("OPEN311_API_KEYS", "").split(",")[0].strip()
    return configured or (var_dir / "open311-api-key").read_text(encoding="utf-8").strip()

"""The personal-data scanner of the benchmarks (bench/pii_scan.py) finds what it must, where
it must, masked; and leaves application numbers, region codes and ciphertext alone."""

from __future__ import annotations

import json
import os
import sqlite3
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from sqlalchemy import create_engine, text

from bench.pii_scan import Finding, Scanner, scan
from tests.conftest import POSTGRES_URL

REDIS_URL = os.environ.get("REDIS_TEST_URL", "redis://127.0.0.1:6379/0")
ID_NUMBER = "11010519491231002X"  # valid check character
OTHER_ID_NUMBER = "440304198511023184"
PHONE = "13912345678"
NAME = "钱多多"
NOT_PERSONAL = [
    "ZW20261126-7KQ3MX",  # application number
    "GD20261126-VZQ7C2",  # report number
    "510107",  # region code
    "512012002012-511602000000-000-11510000008749829N-1-00",  # service item code
    "110105194912310021",  # an 18-digit run with a wrong check character
    "1764150000.123456",  # a timestamp
    "0.440304198511023184",  # a confidence whose decimals happen to read as an ID number
    "a139123456781b2c3d4e5f60718293a4",  # a uuid's hex
    "sealed:gAAAAABn13912345678Xk_9=",  # the action server's ciphertext
    "028-86665555",  # a landline
]


def found(findings: list[Finding], kind: str, where: str) -> list[Finding]:
    return [finding for finding in findings if finding.kind == kind and where in finding.where]


def test_finds_id_numbers_phones_and_sent_names_in_text_with_each_masked() -> None:
    hits = Scanner([NAME]).find(f"申请人{NAME}，身份证{ID_NUMBER}，手机{PHONE}")
    assert sorted(kind for kind, _, _ in hits) == ["id_number", "mobile", "name"]
    excerpts = "\n".join(excerpt for _, excerpt, _ in hits)
    assert ID_NUMBER not in excerpts and PHONE not in excerpts and NAME not in excerpts
    assert "1101**********002X" in excerpts and "139****5678" in excerpts and "钱**" in excerpts


def test_reads_json_escapes_and_full_width_digits() -> None:
    escaped = json.dumps({"text": f"我叫{NAME} 电话{PHONE}"})  # non-ASCII as \\uXXXX, as stores write it
    assert {kind for kind, _, _ in Scanner([NAME]).find(escaped)} == {"name", "mobile"}
    full_width = PHONE.translate({ord(d): ord(d) + 0xFEE0 for d in "0123456789"})
    assert [kind for kind, _, _ in Scanner().find(f"号码：{full_width}")] == ["mobile"]


@pytest.mark.parametrize("value", NOT_PERSONAL)
def test_codes_numbers_and_ciphertext_are_not_personal_data(value: str) -> None:
    assert Scanner().find(f"办件 {value} 已受理") == []


def test_a_sent_number_is_marked_as_sent() -> None:
    hits = Scanner([PHONE]).find(f"{PHONE} and 13611112222")
    assert [(kind, sent) for kind, _, sent in hits] == [("mobile", True), ("mobile", False)]


@pytest.fixture
def redis_prefix() -> Iterator[str]:
    prefix = "piitest" + uuid.uuid4().hex[:8]
    yield prefix
    client = redis.Redis.from_url(REDIS_URL)
    keys = list(client.scan_iter(match=prefix + "*"))
    if keys:
        client.delete(*keys)


def test_scans_redis_sqlite_and_logs(tmp_path: Path, redis_prefix: str) -> None:
    client = redis.Redis.from_url(REDIS_URL)
    client.set(f"{redis_prefix}:tracker:ana", json.dumps({"events": [{"text": f"my phone is {PHONE}"}]}))
    client.rpush(f"{redis_prefix}:list", "nothing here", f"id {OTHER_ID_NUMBER}")
    client.hset(f"{redis_prefix}:hash", mapping={"name": NAME, "code": "ZW20261126-7KQ3MX"})
    client.set(f"{redis_prefix}:clean", json.dumps({"application": "ZW20261126-7KQ3MX", "region": "510107"}))
    client.set("other" + redis_prefix, PHONE)  # not under the prefix: not looked at
    database = tmp_path / "tracker.db"
    with sqlite3.connect(database) as connection:
        connection.execute("CREATE TABLE events (id INTEGER PRIMARY KEY, data TEXT, region TEXT)")
        connection.execute("INSERT INTO events (data, region) VALUES (?, '510107')", (f"身份证{ID_NUMBER}",))
        connection.execute("INSERT INTO events (data, region) VALUES ('ZW20261126-7KQ3MX', '510107')")
    log = tmp_path / "rasa.log"
    log.write_text(f"2026-11-26 INFO started\n2026-11-26 DEBUG user said {NAME}\n", encoding="utf-8")
    try:
        findings = scan(REDIS_URL, redis_prefix, [database], (), [log], needles=[NAME, PHONE])
    finally:
        client.delete("other" + redis_prefix)
    assert found(findings, "mobile", f"redis {redis_prefix}:tracker:ana")[0].sent
    assert found(findings, "id_number", f"redis {redis_prefix}:list")
    assert found(findings, "name", f"redis {redis_prefix}:hash")
    assert found(findings, "id_number", f"sqlite {database} events.data row 1")
    assert found(findings, "name", f"log {log}:2")
    assert len(findings) == 5, [str(finding) for finding in findings]
    printed = "\n".join(str(finding) for finding in findings)
    assert ID_NUMBER not in printed and OTHER_ID_NUMBER not in printed and PHONE not in printed


def test_scans_every_text_column_of_a_postgresql_database() -> None:
    table = "pii_scan_" + uuid.uuid4().hex[:8]
    engine = create_engine(POSTGRES_URL)
    with engine.begin() as connection:
        connection.execute(text(f"CREATE TABLE {table} (id serial PRIMARY KEY, note text, contact varchar(40))"))
        connection.execute(
            text(f"INSERT INTO {table} (note, contact) VALUES ('ZW20261126-7KQ3MX', :phone)"), {"phone": PHONE}
        )
    try:
        findings = [finding for finding in scan(database_urls=[POSTGRES_URL]) if f".{table}." in finding.where]
    finally:
        with engine.begin() as connection:
            connection.execute(text(f"DROP TABLE {table}"))
        engine.dispose()
    assert [(finding.kind, finding.where.rsplit(".", 1)[-1]) for finding in findings] == [("mobile", "contact row 1")]

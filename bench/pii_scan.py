"""Look for personal numbers where a run left its state: Redis, SQL stores and logs.

    .venv/bin/python -m bench.pii_scan [--redis-url redis://127.0.0.1:6379/0 --key-prefix zw1a2b3c4d]
        [--sqlite var/tracker.db …] [--database-url postgresql://127.0.0.1/test …]
        [--log var/rasa.log …] [--needles file-with-one-value-a-line]

    from bench.pii_scan import scan
    findings = scan(redis_url=…, key_prefix=stack.key_prefix, sqlite_paths=[…], log_paths=[…], needles=sent)

What is looked for:
- mainland resident ID numbers: 17 digits and a digit or X with a possible birth date
  and the right ISO 7064 MOD 11-2 check character (an 18-digit run with a wrong one is
  some other number);
- mainland mobile numbers: 1[3-9] and nine more digits;
- `needles`: the exact values a run sent (names, ID numbers, phones; an ID number's x in
  either case). Findings that are one of them are marked `sent`.

A number or value must stand alone: not glued to more letters or digits, nor the fraction
of a decimal (so uuids, Fernet ciphertext, classifier confidences, application numbers
like ZW20261126-7KQ3MX, service item codes and region codes are not numbers here); values
the action server sealed ("sealed:<token>") are skipped; full-width digits count as
digits; JSON's \\uXXXX escapes are read as the characters they stand for before looking.

Where: every key under `key_prefix` in Redis (strings, lists, hashes, sets, sorted sets,
streams; the key names too), every text column of every table in the SQLite files and
the databases at `database_urls` (PostgreSQL), and every line of the log files. Each
finding says where, what kind, and an excerpt with every number in it masked: a full
number is never printed. Exit status 1 when anything is found.
"""

from __future__ import annotations

import argparse
import re
import sqlite3
import sys
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK = "10X98765432"
# Standing alone: not glued to letters or digits, nor the fraction of a decimal (0.047…).
ALONE_BEFORE = r"(?<![0-9A-Za-z])(?<![0-9]\.)"
ALONE_AFTER = r"(?![0-9A-Za-z])(?!\.[0-9])"
ID_NUMBER = re.compile(ALONE_BEFORE + r"[1-9][0-9]{16}[0-9Xx]" + ALONE_AFTER)
MOBILE = re.compile(ALONE_BEFORE + r"1[3-9][0-9]{9}" + ALONE_AFTER)
SEALED = re.compile(r"sealed:[A-Za-z0-9_\-=+/.:]+")
JSON_ESCAPE = re.compile(r"\\u([0-9a-fA-F]{4})")
FULL_WIDTH_DIGITS = {code: code - 0xFEE0 for code in range(0xFF10, 0xFF1A)}
TEXT_TYPES = ("text", "character varying", "character", "json", "jsonb", "xml")
CONTEXT = 24  # characters of the excerpt either side of a finding


@dataclass(frozen=True)
class Finding:
    where: str  # "redis zw1a2b:tracker:ana", "sqlite var/t.db events.data row 3", "log var/rasa.log:120"
    kind: str  # "id_number", "mobile" or "name" (a sent value that is not a number)
    excerpt: str  # around the finding, every number and sent value in it masked
    sent: bool  # one of the values the run sent

    def __str__(self) -> str:
        return f"{self.kind:<9} {'sent ' if self.sent else ''}{self.where}: …{self.excerpt}…"


def valid_id_number(number: str) -> bool:
    """A birth date that could be one (YYYYMMDD from 1800) and the right check character."""
    year, month, day = int(number[6:10]), int(number[10:12]), int(number[12:14])
    if not (1800 <= year <= 2099 and 1 <= month <= 12 and 1 <= day <= 31):
        return False
    total = sum(int(digit) * weight for digit, weight in zip(number[:17], ID_WEIGHTS, strict=True))
    return ID_CHECK[total % 11] == number[17].upper()


def mask(value: str) -> str:
    """1101**********002X, 139****5678, 赵**: enough to recognise, never the value."""
    if len(value) == 18:
        return value[:4] + "*" * 10 + value[-4:]
    if len(value) == 11 and value.isdigit():
        return value[:3] + "****" + value[-4:]
    return value[:1] + "*" * max(2, len(value) - 1)


def _trie_pattern(words: Iterable[str]) -> str:
    """One regular expression matching any of `words`, as a trie (fast with thousands)."""
    trie: dict[str, Any] = {}
    for word in words:
        node = trie
        for char in word:
            node = node.setdefault(char, {})
        node[""] = {}

    def pattern(node: dict[str, Any]) -> str:
        branches = [re.escape(char) + pattern(child) for char, child in sorted(node.items()) if char]
        if not branches:
            return ""
        optional = "" in node
        if len(branches) == 1 and not optional:
            return branches[0]
        return "(?:" + "|".join(branches) + ")" + ("?" if optional else "")

    return pattern(trie)


class Scanner:
    """Finds personal numbers and the given values (`needles`) in text."""

    def __init__(self, needles: Iterable[str] = ()) -> None:
        values = {needle.strip() for needle in needles if needle.strip()}
        # Sent numbers are found as numbers; the rest (names) by a pattern of their own.
        self.sent_numbers = {value.upper() for value in values if _number_kind(value)}
        words = {form for value in values - self.sent_numbers for form in (value, value.lower())}
        # Standing alone, as numbers must: a name inside a longer word is a coincidence.
        self._words = re.compile(ALONE_BEFORE + _trie_pattern(words) + ALONE_AFTER) if words else None

    def find(self, text: str) -> list[tuple[str, str, bool]]:
        """(kind, masked excerpt, whether sent) of everything found in `text`."""
        text = self._readable(text)
        hits = sorted(self._hits(text), key=lambda hit: hit[1])
        if not hits:
            return []
        # Mask every hit in the whole text first, so that no excerpt shows any number whole.
        pieces, spans, done, length = [], [], 0, 0
        for kind, start, end in hits:
            if start < done:
                continue  # overlaps one already masked
            shown = mask(text[start:end])
            pieces += [text[done:start], shown]
            length += start - done
            sent = kind == "name" or text[start:end].upper() in self.sent_numbers
            spans.append((kind, length, length + len(shown), sent))
            length += len(shown)
            done = end
        masked = "".join(pieces) + text[done:]
        return [
            (kind, " ".join(masked[max(0, start - CONTEXT) : end + CONTEXT].split()), sent)
            for kind, start, end, sent in spans
        ]

    def _readable(self, text: str) -> str:
        text = JSON_ESCAPE.sub(lambda match: _char(match.group(1)), text)
        return text.translate(FULL_WIDTH_DIGITS)

    def _hits(self, text: str) -> list[tuple[str, int, int]]:
        sealed = [match.span() for match in SEALED.finditer(text)]

        def outside_sealed(start: int, end: int) -> bool:
            return not any(s <= start and end <= e for s, e in sealed)

        hits: list[tuple[str, int, int]] = []
        for pattern in (ID_NUMBER, MOBILE):
            for match in pattern.finditer(text):
                kind = _number_kind(match.group())
                if kind and outside_sealed(*match.span()):
                    hits.append((kind, *match.span()))
        if self._words:
            for match in self._words.finditer(text):
                if outside_sealed(*match.span()):
                    hits.append(("name", *match.span()))
        return hits


def _number_kind(text: str) -> str | None:
    if ID_NUMBER.fullmatch(text) and valid_id_number(text):
        return "id_number"
    if MOBILE.fullmatch(text):
        return "mobile"
    return None


def _char(hex_code: str) -> str:
    code = int(hex_code, 16)
    return "\ufffd" if 0xD800 <= code <= 0xDFFF else chr(code)  # a lone surrogate half is no character


def _text(value: Any) -> str | None:
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    if isinstance(value, str):
        return value
    return None


def redis_texts(redis_url: str, key_prefix: str | None) -> Iterator[tuple[str, str]]:
    """(where, text) of every key under the prefix (all keys without one) and of its values."""
    import redis

    client = redis.Redis.from_url(redis_url)
    pattern = (re.sub(r"([*?\[\]\\])", r"\\\1", key_prefix) + "*") if key_prefix else "*"
    for raw_key in client.scan_iter(match=pattern, count=500):
        key = raw_key.decode("utf-8", errors="replace")
        where = f"redis {key}"
        yield where + " (key name)", key
        kind = client.type(raw_key).decode()
        values: list[Any] = []
        if kind == "string":
            values = [client.get(raw_key)]
        elif kind == "list":
            values = client.lrange(raw_key, 0, -1)
        elif kind == "hash":
            values = [part for pair in client.hgetall(raw_key).items() for part in pair]
        elif kind == "set":
            values = list(client.smembers(raw_key))
        elif kind == "zset":
            values = client.zrange(raw_key, 0, -1)
        elif kind == "stream":
            values = [part for _, fields in client.xrange(raw_key) for pair in fields.items() for part in pair]
        for value in values:
            text = _text(value)
            if text is not None:
                yield where, text


def sqlite_texts(path: Path) -> Iterator[tuple[str, str]]:
    """(where, text) of every text or blob value of every table of an SQLite file."""
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        tables = [row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        for table in tables:
            cursor = connection.execute(f'SELECT * FROM "{table}"')  # names from the file itself
            columns = [column[0] for column in cursor.description]
            for number, row in enumerate(cursor, 1):
                for column, value in zip(columns, row, strict=True):
                    text = _text(value)
                    if text:
                        yield f"sqlite {path} {table}.{column} row {number}", text
    finally:
        connection.close()


def database_texts(url: str) -> Iterator[tuple[str, str]]:
    """(where, text) of every text column of every table of a PostgreSQL database."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.exc import DBAPIError

    engine = create_engine(url)
    shown_url = engine.url.render_as_string(hide_password=True)
    quote = engine.dialect.identifier_preparer.quote
    try:
        with engine.connect() as connection:
            columns = connection.execute(
                text(
                    "SELECT table_schema, table_name, column_name FROM information_schema.columns"
                    " WHERE table_schema NOT IN ('pg_catalog', 'information_schema')"
                    " AND data_type = ANY(:types) ORDER BY table_schema, table_name, ordinal_position"
                ),
                {"types": list(TEXT_TYPES)},
            ).all()
        for schema, table, column in columns:
            name = f"{quote(schema)}.{quote(table)}"
            query = text(f"SELECT {quote(column)}::text FROM {name} WHERE {quote(column)} IS NOT NULL")
            try:
                with engine.connect() as connection:
                    for number, (value,) in enumerate(connection.execution_options(stream_results=True).execute(query)):
                        yield f"database {shown_url} {schema}.{table}.{column} row {number + 1}", value
            except DBAPIError:
                continue  # the table went away meanwhile (another test, another run)
    finally:
        engine.dispose()


def log_texts(path: Path) -> Iterator[tuple[str, str]]:
    with path.open(encoding="utf-8", errors="replace") as log:
        for number, line in enumerate(log, 1):
            yield f"log {path}:{number}", line


def scan(
    redis_url: str | None = None,
    key_prefix: str | None = None,
    sqlite_paths: Iterable[Path | str] = (),
    database_urls: Iterable[str] = (),
    log_paths: Iterable[Path | str] = (),
    needles: Iterable[str] = (),
) -> list[Finding]:
    """Every personal number, and every value of `needles`, found in the places given.

    `key_prefix`: only Redis keys starting with it (every key of the database when None).
    """
    scanner = Scanner(needles)
    sources: list[Iterator[tuple[str, str]]] = []
    if redis_url:
        sources.append(redis_texts(redis_url, key_prefix))
    sources += [sqlite_texts(Path(path)) for path in sqlite_paths]
    sources += [database_texts(url) for url in database_urls]
    sources += [log_texts(Path(path)) for path in log_paths]
    findings: dict[Finding, None] = {}
    for source in sources:
        for where, text in source:
            for kind, excerpt, sent in scanner.find(text):
                findings[Finding(where, kind, excerpt, sent)] = None
    return list(findings)


def summary(findings: list[Finding]) -> dict[str, Any]:
    """For a benchmark's JSON: how many of each kind, and the first few (masked)."""
    kinds: dict[str, int] = {}
    for finding in findings:
        kinds[finding.kind] = kinds.get(finding.kind, 0) + 1
    sent = sum(finding.sent for finding in findings)
    return {
        "findings": len(findings),
        "of_values_sent": sent,
        "by_kind": kinds,
        "first": [asdict(finding) for finding in findings[:20]],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--redis-url")
    parser.add_argument("--key-prefix", help="only keys starting with this (all keys when not given)")
    parser.add_argument("--sqlite", action="append", default=[], type=Path, help="an SQLite file (repeatable)")
    parser.add_argument("--database-url", action="append", default=[], help="a PostgreSQL URL (repeatable)")
    parser.add_argument("--log", action="append", default=[], type=Path, help="a log file (repeatable)")
    parser.add_argument("--needles", type=Path, help="a file of exact values to look for, one a line")
    args = parser.parse_args()
    needles = args.needles.read_text(encoding="utf-8").splitlines() if args.needles else []
    findings = scan(args.redis_url, args.key_prefix, args.sqlite, args.database_url, args.log, needles)
    for finding in findings:
        print(finding)
    print(f"{len(findings)} finding(s)")
    sys.exit(1 if findings else 0)


if __name__ == "__main__":
    main()

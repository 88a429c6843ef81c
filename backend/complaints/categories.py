"""The contract's report categories and request types (data/contract/complaints.yml).

A category's `code` is also its Open311 service_code; its `department` names the kind
of authority that handles it. A request type decides the response deadline in
working days. Pure apart from `read_complaint_codes`, which reads the file.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from backend.catalogue.sources import read_yaml
from backend.settings import DATA_DIR


@dataclass(frozen=True)
class Category:
    code: str
    name: Mapping[str, str]
    department_kind: str
    """As the contract words it: 'urban management', 'gas / heating utility', …"""


@dataclass(frozen=True)
class RequestType:
    code: str
    name: Mapping[str, str]
    response_working_days: int


@dataclass(frozen=True)
class ComplaintCodes:
    categories: Mapping[str, Category]
    request_types: Mapping[str, RequestType]

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> ComplaintCodes:
        categories = {
            raw["code"]: Category(raw["code"], {"zh": raw["zh"], "en": raw["en"]}, raw["department"])
            for raw in data["categories"]
        }
        request_types = {
            raw["code"]: RequestType(raw["code"], {"zh": raw["zh"], "en": raw["en"]}, int(raw["response_working_days"]))
            for raw in data["request_types"]
        }
        return cls(categories, request_types)


def read_complaint_codes(data_dir: Path = DATA_DIR) -> ComplaintCodes:
    return ComplaintCodes.from_data(read_yaml(data_dir / "contract" / "complaints.yml"))

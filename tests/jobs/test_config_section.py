"""Section: an absent key reads as the default of the dataclass field it fills, nowhere else."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import pytest

from capture.errors import ConfigError
from jobs.config.section import Section


@dataclass(frozen=True, slots=True, kw_only=True)
class Sample:
    name: str
    interval_s: float = 2.5
    start: dt.time = dt.time(9, 0)
    tags: tuple[str, ...] = field(default_factory=lambda: ("a", "b"))


def test_an_absent_key_reads_as_the_default_of_its_dataclass_field() -> None:
    section = Section("s", {}, Sample)
    assert section.positive("interval_s") == 2.5
    assert section.time("start") == dt.time(9, 0)
    assert section.take("tags", list) == ("a", "b")


def test_an_absent_key_with_no_field_default_reads_as_none() -> None:
    section = Section("s", {}, Sample, keys=["name", "note"])
    assert section.take("name", str) is None
    assert section.take("note", str) is None


def test_a_present_key_is_read_and_checked_not_defaulted() -> None:
    section = Section("s", {"interval_s": 4, "start": "10:30"}, Sample)
    assert section.positive("interval_s") == 4.0
    assert section.time("start") == dt.time(10, 30)
    with pytest.raises(ConfigError) as caught:
        Section("s", {"interval_s": "4"}, Sample).positive("interval_s")
    assert caught.value.key == "s.interval_s" and "must be a number" in str(caught.value)


def test_an_absent_table_reads_as_an_empty_one() -> None:
    assert Section("s", None, Sample).take("interval_s", float) == 2.5


def test_keys_restricts_the_table_to_the_keys_given() -> None:
    with pytest.raises(ConfigError) as caught:
        Section("s", {"tags": []}, Sample, keys=["name"])
    assert caught.value.key == "s.tags" and "unknown key" in str(caught.value)

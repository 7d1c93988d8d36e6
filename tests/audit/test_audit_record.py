"""audit.json as a typed record: the committed audits read back and write the same file; the report reads
their verdict by field."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from scalesearch.audit import AuditRecord
from scalesearch.audit.record import AuditFormatError
from scalesearch.core.jsonio import dumps
from scalesearch.report.render import read_audit

ROOT = Path(__file__).resolve().parents[2]
COMMITTED = [ROOT / "results" / "example", ROOT / "results" / "example" / "jitter"]


@pytest.mark.parametrize("folder", COMMITTED, ids=["example", "jitter"])
def test_a_committed_audit_reads_back_and_writes_the_same_json(folder: Path) -> None:
    data = json.loads((folder / "audit.json").read_text())
    record = AuditRecord.from_dict(data)
    assert dumps(record.to_dict()) == dumps(data)  # the same keys, in the same order, with the same values
    assert list(record.to_dict()) == list(data)
    assert record.headline == next(line for line in data["lines"] if "Spearman" in line)  # the old rule
    assert record.correlations.spearman.value == data["correlations"]["spearman"]["value"]
    assert [s.study_rank for s in record.sample] == [s["study_rank"] for s in data["sample"]]


@pytest.mark.parametrize("folder", COMMITTED, ids=["example", "jitter"])
def test_the_report_reads_a_committed_audit_by_field(folder: Path) -> None:
    data = json.loads((folder / "audit.json").read_text())
    summary = read_audit(folder)
    assert summary is not None
    assert list(summary.lines) == data["lines"] and summary.headline == data["headline"]


def test_a_damaged_audit_record_is_refused_by_name(tmp_path: Path) -> None:
    data = json.loads((COMMITTED[0] / "audit.json").read_text())
    del data["compute"]
    with pytest.raises(AuditFormatError):
        AuditRecord.from_dict(data)
    (tmp_path / "audit.json").write_text(json.dumps({**data, "format": 99}))
    assert read_audit(tmp_path) is None  # another format: no audit rather than a wrong one

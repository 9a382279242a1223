"""One-off, for a stack deployed before the sweep index: put the work already stored into it.

The sweep reads only the step-7 items flagged in `project_steps`' sparse index `by-sweep`
(`sweep_due`, dal/projects.py); every write that makes work sets the flag. Work stored
before that deploy (a scene left generating, a queued Generate All's `data.schedule`) has
no flag, so the sweep would never see it. This scans the table once for step-7 items with
work (dal/projects.py's own rule) and flags those that are not flagged yet, each
conditional on the item still existing (a project deleted meanwhile is not brought back).
It changes nothing else: not `updatedAt` (the project list's order), not the data. A flag
on an item whose work has ended is harmless: the sweep's next run removes it.

A dry run by default (prints what it would flag); `--apply` writes. Run it after the
deploy has finished (no Lambda of the old version left writing), once; running it again
flags nothing new.

    python scripts/backfill_sweep_index.py --table NAME [--region REGION] [--apply]
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

import boto3
from boto3.dynamodb.types import TypeDeserializer
from botocore.exceptions import ClientError

# The Lambda layer's package, as the functions import it (/opt/python there).
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "layers" / "common"))
from broll_common.dal.projects import STEP_BROLL, SWEEP_DUE, _has_work  # noqa: E402

_DESERIALIZE = TypeDeserializer()


@dataclass
class Counts:
    scanned: int = 0  # step-7 items read
    with_work: int = 0  # of those, with a scene generating (or late tasks) or a schedule
    already_flagged: int = 0
    flagged: int = 0  # flagged now (or, in a dry run, that would be)
    gone: int = 0  # deleted between the scan and the write: left alone

    def line(self, apply: bool) -> str:
        done = f"flagged {self.flagged}" if apply else f"would flag {self.flagged} (dry run: --apply to write)"
        return (f"step-7 items {self.scanned}, with work {self.with_work}, already flagged {self.already_flagged}, "
                f"{done}, gone meanwhile {self.gone}")


def _step7_items(ddb, table: str):
    """Every step-7 item's key, data and flag: one full scan (its reads are the table's size)."""
    pages = ddb.get_paginator("scan").paginate(
        TableName=table, FilterExpression="step_number = :broll",
        ProjectionExpression="project_id, step_number, #data, sweep_due",
        ExpressionAttributeNames={"#data": "data"}, ExpressionAttributeValues={":broll": {"N": str(STEP_BROLL)}},
    )
    for page in pages:
        yield from page["Items"]


def flag(ddb, table: str, project_id: str) -> bool:
    """Flag one project's step-7 item; False when it no longer exists (nothing is written then)."""
    try:
        ddb.update_item(
            TableName=table, Key={"project_id": {"S": project_id}, "step_number": {"N": str(STEP_BROLL)}},
            UpdateExpression="SET sweep_due = :due", ConditionExpression="attribute_exists(project_id)",
            ExpressionAttributeValues={":due": {"S": SWEEP_DUE}},
        )
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
            raise
        return False
    return True


def backfill(ddb, table: str, *, apply: bool) -> Counts:
    counts = Counts()
    for item in _step7_items(ddb, table):
        counts.scanned += 1
        if not _has_work(_DESERIALIZE.deserialize(item.get("data", {"M": {}}))):
            continue
        counts.with_work += 1
        if "sweep_due" in item:
            counts.already_flagged += 1
            continue
        project_id = item["project_id"]["S"]
        if apply and not flag(ddb, table, project_id):
            counts.gone += 1
            continue
        counts.flagged += 1
        print(f"{'flagged' if apply else 'would flag'} {project_id}")
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--table", required=True, help="the stack's project_steps table (physical name)")
    parser.add_argument("--region", help="its region (default: the AWS CLI's)")
    parser.add_argument("--apply", action="store_true", help="write the flags (default: a dry run)")
    args = parser.parse_args(argv)
    counts = backfill(boto3.client("dynamodb", region_name=args.region), args.table, apply=args.apply)
    print(counts.line(args.apply))
    return 0


if __name__ == "__main__":
    sys.exit(main())

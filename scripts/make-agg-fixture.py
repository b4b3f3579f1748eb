#!/usr/bin/env python3
"""Writes tests/fixtures/aggregates/python-agg.{bin,expected.json}: aggregates made by the
reference Python library (aws-kinesis-agg), for kbench's interoperability test.

Setup (throwaway dir, nothing installed system-wide):
    pip install --quiet --target /tmp/aggpy aws-kinesis-agg==1.2.3 protobuf==7.36.2 six==1.17.0
    PYTHONPATH=/tmp/aggpy python3 scripts/make-agg-fixture.py

Output, fully deterministic:
- python-agg.bin: the aggregates, one after another, each preceded by its length as a
  4-byte big-endian integer;
- python-agg.expected.json: the user records in the order they were added, computed from
  what this script added (not from the library's deaggregator, which reports a wrong
  explicit hash key for records without one), and how many records each aggregate holds.
"""

import json
import os
import struct
import sys

from aws_kinesis_agg.aggregator import RecordAggregator

OUT_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "aggregates")

# Small enough that the records below span several aggregates.
MAX_AGGREGATE_BYTES = 700

PARTITION_KEYS = ["alpha", "beta", "gamma", "δέλτα-ünïcode", "k" * 130]
EXPLICIT_HASH_KEYS = [
    "0",
    "170141183460469231731687303715884105728",
    "340282366920938463463374607431768211455",
]


def user_records():
    """(partition_key, explicit_hash_key or None, data) in the order they are aggregated."""
    records = []
    for i in range(36):
        partition_key = PARTITION_KEYS[(i * 7 + i // 5) % len(PARTITION_KEYS)]
        # Roughly a third carry an explicit hash key; keys repeat.
        explicit_hash_key = EXPLICIT_HASH_KEYS[i % len(EXPLICIT_HASH_KEYS)] if i % 3 == 1 else None
        if i == 4:
            data = b""  # an empty payload
        elif i == 9:
            data = bytes(range(256))  # every byte value
        elif i % 11 == 0:
            data = bytes((i * 31 + j) % 256 for j in range(140))  # length needs a 2-byte varint
        else:
            data = ("record-%d" % i).encode("ascii")
        records.append((partition_key, explicit_hash_key, data))
    return records


def main():
    aggregator = RecordAggregator(max_size=MAX_AGGREGATE_BYTES)
    aggregates = []
    counts = []
    added_since_last = 0
    for partition_key, explicit_hash_key, data in user_records():
        full = aggregator.add_user_record(partition_key, data, explicit_hash_key=explicit_hash_key)
        if full is not None:
            # The record just added opened the next aggregate.
            aggregates.append(full.get_contents()[2])
            counts.append(added_since_last)
            added_since_last = 0
        added_since_last += 1
    last = aggregator.clear_and_get()
    if last is not None:
        aggregates.append(last.get_contents()[2])
        counts.append(added_since_last)

    if len(aggregates) < 2:
        sys.exit("expected the records to span several aggregates")

    os.makedirs(OUT_DIR, exist_ok=True)
    with open(os.path.join(OUT_DIR, "python-agg.bin"), "wb") as out:
        for aggregate in aggregates:
            out.write(struct.pack(">I", len(aggregate)))
            out.write(aggregate)

    expected = {
        "generator": "aws-kinesis-agg 1.2.3 (scripts/make-agg-fixture.py)",
        "records_per_aggregate": counts,
        "records": [
            {"partition_key": pk, "explicit_hash_key": ehk, "data_hex": data.hex()}
            for pk, ehk, data in user_records()
        ],
    }
    with open(os.path.join(OUT_DIR, "python-agg.expected.json"), "w", encoding="utf-8") as out:
        json.dump(expected, out, indent=1, ensure_ascii=False)
        out.write("\n")
    print("wrote %d aggregates (%s records) to %s" % (len(aggregates), counts, os.path.normpath(OUT_DIR)))


if __name__ == "__main__":
    main()

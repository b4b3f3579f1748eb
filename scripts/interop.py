#!/usr/bin/env python3
"""The Python half of scripts/interop.sh: KPL aggregation interoperability between kbench and
the reference Python library aws-kinesis-agg (plus boto3 for reading the stream).

    interop.py check-stream URL STREAM KBENCH_RC SUMMARY_JSON [--max-aggregate-bytes N]
        Checks kbench's JSON summary (exit code, status, accounting), then reads the whole
        stream from the endpoint at URL with boto3 (ListShards, GetShardIterator TRIM_HORIZON,
        GetRecords), de-aggregates it with aws_kinesis_agg.deaggregator and checks every user
        record against the summary. Prints one PASS/FAIL line; exits 1 on FAIL.

    interop.py make-aggregates OUT_HEX OUT_EXPECTED_JSON [--seed N]
        Builds aggregates from seeded-random user records with aws_kinesis_agg.aggregator, mixes
        in a few plain (non-aggregate) records, and writes the Kinesis record data as hex, one
        record per line, and what a de-aggregator must report for each line, as a JSON list in
        the shape of the deaggregate example's output lines.

    interop.py check-deaggregated EXPECTED_JSON ACTUAL_JSONL [DEAGGREGATE_RC]
        Compares the deaggregate example's output (one JSON line per input record) with the
        expectation. Prints one PASS/FAIL line; exits 1 on FAIL.

    interop.py check-efo URL STREAM [--timeout S]
        Enhanced fan-out with boto3's subscribe_to_shard (HTTP/1.1, chunked event stream) against
        a `kbench serve --efo-session 2s` at URL: creates STREAM (one shard) and a consumer,
        writes records, subscribes AFTER_SEQUENCE_NUMBER of one of them and checks that exactly
        the records after it come, in order, and that the session ends; then renews from the
        last ContinuationSequenceNumber twice, with records written in between, and checks each
        record comes once. Prints one PASS/FAIL line; exits 1 on FAIL.

Needs aws-kinesis-agg, protobuf, six and boto3 on PYTHONPATH (interop.sh installs them).
Exit codes: 0 PASS (or files written), 1 FAIL, 2 usage or environment error.
"""

import argparse
import base64
import gzip
import hashlib
import json
import os
import random
import re
import sys
import time
import traceback

MISMATCHES_SHOWN = 5
AGGREGATED_API = "put_records_aggregated"


# --- shared helpers ----------------------------------------------------------------------------


def short(value, limit=80):
    """A printable, bounded rendering of a value for mismatch reports."""
    text = value if isinstance(value, str) else repr(value)
    if len(text) > limit:
        return "%s...(%d chars)" % (text[:limit], len(text))
    return text


class Problems:
    """Collects problems by kind, keeping the first few examples of each and a count."""

    def __init__(self):
        self.kinds = {}  # kind -> [count, examples]
        self.order = []

    def add(self, kind, example=None):
        if kind not in self.kinds:
            self.kinds[kind] = [0, []]
            self.order.append(kind)
        entry = self.kinds[kind]
        entry[0] += 1
        if example is not None and len(entry[1]) < MISMATCHES_SHOWN:
            entry[1].append(example)

    def __bool__(self):
        return bool(self.order)

    def lines(self):
        out = []
        for kind in self.order:
            count, examples = self.kinds[kind]
            head = kind if count == 1 else "%s (%d times)" % (kind, count)
            out.append("  - " + head)
            for example in examples:
                out.append("      " + example)
            if count > len(examples) and examples:
                out.append("      ... and %d more" % (count - len(examples)))
        return out


def report(name, problems, summary):
    """Prints the PASS/FAIL line (and the problems under it); returns the exit code."""
    if problems:
        print("FAIL %s: %s" % (name, summary))
        for line in problems.lines():
            print(line)
        return 1
    print("PASS %s: %s" % (name, summary))
    return 0


def hash_key_of(partition_key):
    """The 128-bit hash key Kinesis derives from a partition key (MD5, big-endian)."""
    return int.from_bytes(hashlib.md5(partition_key.encode("utf-8")).digest(), "big")


def load_summary(path):
    """kbench's --json summary: the whole file, or else the last line that is a JSON object."""
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            text = f.read()
    except OSError:
        return None
    try:
        value = json.loads(text)
        return value if isinstance(value, dict) else None
    except ValueError:
        pass
    for line in reversed(text.splitlines()):
        line = line.strip()
        if line.startswith("{"):
            try:
                value = json.loads(line)
            except ValueError:
                continue
            if isinstance(value, dict):
                return value
    return None


def integer(value):
    return value if isinstance(value, int) and not isinstance(value, bool) else None


# --- check-stream: kbench -> aws-kinesis-agg ---------------------------------------------------


def check_summary(rc, summary, problems):
    """Checks kbench's exit code and summary; returns (variant, accounting) of the aggregated
    variant (either may be {} when missing)."""
    if rc == 124:
        problems.add("kbench run timed out (KBENCH_INTEROP_RUN_TIMEOUT) and was stopped")
    elif rc != 0:
        problems.add("kbench exited %d (expected 0%s)" % (rc, "; 2 is an SLO breach" if rc == 2 else ""))
    if summary is None:
        problems.add("no JSON summary on kbench's stdout")
        return {}, {}
    if summary.get("status") != "completed":
        problems.add("run status is %r (expected 'completed')" % summary.get("status"))
    variants = summary.get("variants")
    variant = None
    if isinstance(variants, list):
        matching = [v for v in variants if isinstance(v, dict) and v.get("api") == AGGREGATED_API]
        if len(matching) == 1 and len(variants) == 1:
            variant = matching[0]
        else:
            problems.add("expected exactly one variant, api %r; got %s"
                         % (AGGREGATED_API, [v.get("api") for v in variants if isinstance(v, dict)]))
            variant = matching[0] if matching else None
    if variant is None:
        problems.add("no %s variant in the summary" % AGGREGATED_API)
        return {}, {}
    if variant.get("status") not in (None, "completed"):
        problems.add("variant status is %r (expected 'completed')" % variant.get("status"))
    acc = variant.get("accounting")
    if not isinstance(acc, dict):
        problems.add("no accounting in the summary")
        return variant, {}
    scheduled, acked = integer(acc.get("scheduled")), integer(acc.get("acknowledged"))
    lost, received = integer(acc.get("lost")), integer(acc.get("received"))
    if acc.get("holds") is not True:
        problems.add("accounting.holds is %r (expected true)" % acc.get("holds"))
    if lost != 0:
        problems.add("accounting.lost is %r (expected 0)" % acc.get("lost"))
    if acked is None or acked <= 0:
        problems.add("accounting.acknowledged is %r (expected > 0)" % acc.get("acknowledged"))
    elif acked != scheduled:
        problems.add("acknowledged %s != scheduled %s" % (acked, scheduled))
    if received is not None and acked is not None and received != acked:
        problems.add("kbench's own consumer received %s of %s acknowledged" % (received, acked))
    return variant, acc


def kinesis_client(url):
    # Only what is passed here may matter: no profile, config file or instance metadata.
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE"):
        os.environ.pop(name, None)
    os.environ["AWS_CONFIG_FILE"] = os.devnull
    os.environ["AWS_SHARED_CREDENTIALS_FILE"] = os.devnull
    os.environ["AWS_EC2_METADATA_DISABLED"] = "true"
    import boto3
    from botocore.config import Config

    session = boto3.session.Session(
        aws_access_key_id="AKIDKBENCHINTEROP",
        aws_secret_access_key="kbench-interop-dummy-secret",
        region_name="us-east-1",
    )
    config = Config(
        retries={"max_attempts": 10, "mode": "standard"},
        connect_timeout=5,
        read_timeout=30,
    )
    return session.client("kinesis", endpoint_url=url, config=config)


def list_shards(client, stream):
    shards, token = [], None
    while True:
        kwargs = {"NextToken": token} if token else {"StreamName": stream}
        resp = client.list_shards(**kwargs)
        shards.extend(resp.get("Shards", []))
        token = resp.get("NextToken")
        if not token:
            return shards


def read_shard(client, stream, shard_id, deadline):
    """Every record of a shard from TRIM_HORIZON, stopping after two empty responses in a
    row (or at the end of a closed shard); returns (records, GetRecords calls)."""
    iterator = client.get_shard_iterator(
        StreamName=stream, ShardId=shard_id, ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    records, calls, empty = [], 0, 0
    while iterator and empty < 2:
        if time.monotonic() > deadline:
            raise TimeoutError("reading %s took too long (%d GetRecords calls)" % (shard_id, calls))
        resp = client.get_records(ShardIterator=iterator, Limit=10000)
        calls += 1
        batch = resp.get("Records", [])
        records.extend(batch)
        empty = 0 if batch else empty + 1
        iterator = resp.get("NextShardIterator")
        if not batch:
            time.sleep(0.2)  # GetRecords allows 5 calls/s per shard
    return records, calls


def user_data(user_record):
    """The data bytes of a user record from iter_deaggregate_records(data_format='Boto3'):
    base64 (bytes or str) for records taken out of an aggregate, raw bytes for a plain one."""
    kinesis = user_record["kinesis"]
    data = kinesis["data"]
    if kinesis.get("aggregated"):
        return base64.b64decode(data)
    return data if isinstance(data, bytes) else bytes(data)


def cmd_check_stream(args):
    name = "kbench -> aws-kinesis-agg"
    problems = Problems()
    summary = load_summary(args.summary)
    variant, acc = check_summary(args.kbench_rc, summary, problems)
    acked = integer(acc.get("acknowledged"))

    from aws_kinesis_agg.deaggregator import iter_deaggregate_records

    client = kinesis_client(args.url)
    deadline = time.monotonic() + args.read_timeout
    try:
        shards = list_shards(client, args.stream)
    except Exception as e:  # noqa: BLE001 - reported as the check's failure
        problems.add("ListShards on %s failed: %s" % (args.stream, e))
        return report(name, problems, "could not read the stream")

    kinesis_records = aggregates = plain = 0
    most_in_one = largest = get_calls = 0
    user_records = 0
    per_shard_users = {}
    seen = {}
    keys = set()
    for shard in shards:
        shard_id = shard["ShardId"]
        low = int(shard["HashKeyRange"]["StartingHashKey"])
        high = int(shard["HashKeyRange"]["EndingHashKey"])
        try:
            records, calls = read_shard(client, args.stream, shard_id, deadline)
        except Exception as e:  # noqa: BLE001
            problems.add("reading %s failed: %s" % (shard_id, e))
            continue
        get_calls += calls
        per_shard_users[shard_id] = 0
        for record in records:
            kinesis_records += 1
            seq = record["SequenceNumber"]
            size = len(record["Data"])
            largest = max(largest, size)
            users = list(iter_deaggregate_records([record], data_format="Boto3"))
            is_aggregate = any(u["kinesis"].get("aggregated") for u in users)
            if is_aggregate:
                aggregates += 1
                most_in_one = max(most_in_one, len(users))
                if args.max_aggregate_bytes and size > args.max_aggregate_bytes:
                    problems.add("aggregate larger than aggregation.max_bytes (%d)" % args.max_aggregate_bytes,
                                 "%s seq %s: %d bytes" % (shard_id, seq, size))
            else:
                plain += 1
            if not users:
                problems.add("Kinesis record with no user records", "%s seq %s" % (shard_id, seq))
            for sub, user in enumerate(users):
                user_records += 1
                per_shard_users[shard_id] += 1
                where = "%s seq %s sub %d" % (shard_id, seq, sub)
                partition_key = user["kinesis"]["partitionKey"]
                if isinstance(partition_key, bytes):
                    partition_key = partition_key.decode("utf-8", "replace")
                keys.add(partition_key)
                try:
                    data = user_data(user)
                except Exception as e:  # noqa: BLE001
                    problems.add("user record data not decodable", "%s: %s" % (where, e))
                    continue
                if data in seen:
                    problems.add("duplicate user record", "%s repeats %s: %s" % (where, seen[data], short(data)))
                else:
                    seen[data] = where
                try:
                    doc = json.loads(data.decode("utf-8"))
                except ValueError as e:
                    problems.add("user record data is not JSON", "%s: %s: %s" % (where, e, short(data)))
                    continue
                if not isinstance(doc, dict):
                    problems.add("user record data is not a JSON object", "%s: %s" % (where, short(data)))
                    continue
                if not isinstance(doc.get("_kbench"), str):
                    problems.add("user record without kbench's stamp field", "%s: %s" % (where, short(data)))
                if doc.get("pk") != partition_key:
                    problems.add("partition key differs from the record's \"pk\" field",
                                 "%s: partition key %r, pk %r" % (where, partition_key, doc.get("pk")))
                if not low <= hash_key_of(partition_key) <= high:
                    problems.add("user record in an aggregate on the wrong shard (its key hashes "
                                 "outside the shard's range; KCL would drop it)",
                                 "%s: key %r" % (where, partition_key))

    # Counts against kbench's own accounting.
    if acked is not None and user_records != acked:
        problems.add("read %d user records, kbench acknowledged %d" % (user_records, acked))
    if isinstance(variant.get("per_shard"), list):
        for row in variant["per_shard"]:
            shard_id, want = row.get("shard_id"), integer(row.get("acknowledged"))
            got = per_shard_users.get(shard_id)
            if got is not None and want is not None and got != want:
                problems.add("per-shard count differs from kbench's per_shard",
                             "%s: read %d user records, kbench acknowledged %d" % (shard_id, got, want))
    # The phases' rows (the summary adds a "total" row over the measured ones).
    phases = variant.get("phases") if isinstance(variant.get("phases"), list) else []
    counted = [integer((p.get("counters") or {}).get("kinesis_records"))
               for p in phases if isinstance(p, dict) and p.get("phase") != "total"]
    if counted and None not in counted and sum(counted) != kinesis_records:
        problems.add("read %d Kinesis records, kbench counted %d acknowledged (kinesis_records)"
                     % (kinesis_records, sum(counted)))
    # Aggregation actually happened.
    if aggregates == 0:
        problems.add("no aggregate on the stream (aws-kinesis-agg saw only plain records)")
    elif aggregates * 2 <= kinesis_records:
        problems.add("only %d of %d Kinesis records were aggregates" % (aggregates, kinesis_records))
    if user_records and kinesis_records * 2 > user_records:
        problems.add("%d Kinesis records for %d user records: less than 2 user records per Kinesis record"
                     % (kinesis_records, user_records))

    text = ("%d user records (kbench acknowledged %s) in %d Kinesis records on %d shards "
            "(%d aggregates of up to %d user records, largest %d bytes; %d plain), "
            "%d distinct partition keys (%d non-ASCII), %d GetRecords calls"
            % (user_records, "?" if acked is None else acked, kinesis_records, len(shards), aggregates,
               most_in_one, largest, plain, len(keys), sum(1 for k in keys if not k.isascii()), get_calls))
    if not problems:
        text += "; every record's JSON \"pk\" matches its partition key, no duplicates, shards right"
    return report(name, problems, text)


# --- make-aggregates: aws-kinesis-agg -> kbench ------------------------------------------------

PARTITION_KEYS = (
    ["k%d" % i for i in range(24)]
    + ["a", "user 7", "order/2024-05-01#17", "δέλτα-ünïcode", "ключ", "\U0001f511-key", "z" * 256]
)


def explicit_hash_keys(rng):
    fixed = ["0", "1", str(2**127), str(2**128 - 1)]
    return fixed + [str(rng.randrange(2**128)) for _ in range(8)]


def random_data(rng, big):
    """Random bytes of a varied size: empty, tiny, around the 1/2-byte varint boundary (128),
    hundreds to a few thousand; with big, also beyond 16 KiB (3-byte length varints)."""
    roll = rng.random()
    if roll < 0.06:
        size = 0
    elif roll < 0.3:
        size = rng.randint(1, 16)
    elif roll < 0.55:
        size = rng.randint(120, 136)
    elif roll < 0.9 or not big:
        size = rng.randint(137, 1500)
    else:
        size = rng.randint(16 * 1024, 200 * 1024)
    return rng.randbytes(size)


def user_records(rng, count, big):
    ehks = explicit_hash_keys(rng)
    records = []
    for _ in range(count):
        # Skewed: a few keys come up often, so keys repeat within aggregates.
        if rng.random() < 0.4:
            partition_key = rng.choice(PARTITION_KEYS[:4])
        else:
            partition_key = rng.choice(PARTITION_KEYS)
        explicit_hash_key = rng.choice(ehks) if rng.random() < 0.3 else None
        records.append((partition_key, explicit_hash_key, random_data(rng, big)))
    return records


def aggregate(records, max_size):
    """Feeds records to a RecordAggregator; returns [(aggregate bytes, records in it)]."""
    from aws_kinesis_agg.aggregator import RecordAggregator

    aggregator = RecordAggregator(max_size=max_size) if max_size else RecordAggregator()
    out, current = [], []
    for partition_key, explicit_hash_key, data in records:
        full = aggregator.add_user_record(partition_key, data, explicit_hash_key=explicit_hash_key)
        if full is not None:
            # The record just added is the first one of the next aggregate.
            out.append((full.get_contents()[2], current))
            current = []
        current.append((partition_key, explicit_hash_key, data))
    last = aggregator.clear_and_get()
    if last is not None:
        out.append((last.get_contents()[2], current))
    return out


def expectation(aggregated, records):
    return {
        "aggregated": aggregated,
        "records": [
            {"partition_key": pk, "explicit_hash_key": ehk, "data_hex": data.hex()}
            for pk, ehk, data in records
        ],
    }


def self_check(data, records):
    """The reference de-aggregator must read back the partition keys and data we put in (not
    the explicit hash keys: 1.2.3 reports a wrong one for records without one)."""
    from aws_kinesis_agg.deaggregator import iter_deaggregate_records

    boto3_record = {
        "SequenceNumber": "0",
        "PartitionKey": records[0][0],
        "ApproximateArrivalTimestamp": 0,
        "Data": data,
    }
    users = list(iter_deaggregate_records([boto3_record], data_format="Boto3"))
    got = [(u["kinesis"]["partitionKey"], base64.b64decode(u["kinesis"]["data"])) for u in users]
    want = [(pk, d) for pk, _, d in records]
    if got != want or not all(u["kinesis"].get("aggregated") for u in users):
        sys.exit("interop.py: internal error: aws-kinesis-agg does not read back its own aggregate")


def cmd_make_aggregates(args):
    rng = random.Random(args.seed)
    groups = [
        aggregate(user_records(rng, 320, big=False), 4096),  # many aggregates, keys repeating
        aggregate(user_records(rng, 40, big=True), None),  # the default 1 MiB limit
        aggregate(user_records(rng, 1, big=False), None),  # a single user record
    ]
    bad_digest = bytearray(groups[0][0][0])
    bad_digest[-1] ^= 0xFF
    plains = [
        b"",
        b"hello, not an aggregate",
        rng.randbytes(300),
        bytes([0xF3, 0x89, 0x9A]),  # a prefix of the magic
        bytes(bad_digest),  # an aggregate with a wrong MD5: not an aggregate
    ]
    lines = []
    for group in groups:
        for data, records in group:
            self_check(data, records)
            lines.append((data, expectation(True, records)))
    if len(groups[0]) < 5:
        sys.exit("interop.py: internal error: expected the first group to span several aggregates")
    # Plain records first, in between and last.
    for position, data in zip([0, 3, len(lines) // 2, len(lines), len(lines) + 1], plains):
        lines.insert(min(position, len(lines)),
                     (data, expectation(False, [(None, None, data)])))
    with open(args.out_hex, "w", encoding="ascii") as f:
        for data, _ in lines:
            f.write(data.hex() + "\n")
    with open(args.out_expected, "w", encoding="utf-8") as f:
        json.dump([e for _, e in lines], f, ensure_ascii=False)
        f.write("\n")
    users = sum(len(e["records"]) for _, e in lines if e["aggregated"])
    print("interop.py: wrote %d Kinesis records (%d aggregates holding %d user records, %d plain) to %s"
          % (len(lines), len(lines) - len(plains), users, len(plains), args.out_hex), file=sys.stderr)
    return 0


# --- check-deaggregated ------------------------------------------------------------------------


def cmd_check_deaggregated(args):
    name = "aws-kinesis-agg -> kbench"
    problems = Problems()
    with open(args.expected, encoding="utf-8") as f:
        expected = json.load(f)
    actual = []
    try:
        with open(args.actual, encoding="utf-8", errors="replace") as f:
            for number, line in enumerate(f, 1):
                try:
                    actual.append(json.loads(line))
                except ValueError as e:
                    problems.add("output line is not JSON", "line %d: %s: %s" % (number, e, short(line)))
                    actual.append(None)
    except OSError as e:
        problems.add("cannot read the deaggregate output: %s" % e)
    if args.deaggregate_rc not in (None, 0):
        problems.add("deaggregate exited %d" % args.deaggregate_rc)
    if len(actual) != len(expected):
        problems.add("%d output lines for %d input records" % (len(actual), len(expected)))

    fields = ("partition_key", "explicit_hash_key", "data_hex")
    for number, (want, got) in enumerate(zip(expected, actual), 1):
        if not isinstance(got, dict):
            continue
        kind = "aggregate" if want["aggregated"] else "plain record"
        if got.get("aggregated") is not want["aggregated"]:
            problems.add("aggregated flag differs",
                         "line %d (%s): aggregated %r, expected %r"
                         % (number, kind, got.get("aggregated"), want["aggregated"]))
            continue
        got_records = got.get("records")
        if not isinstance(got_records, list):
            problems.add("no records list", "line %d: %s" % (number, short(json.dumps(got))))
            continue
        if len(got_records) != len(want["records"]):
            problems.add("user record count differs",
                         "line %d (%s): %d records, expected %d"
                         % (number, kind, len(got_records), len(want["records"])))
        for index, (w, g) in enumerate(zip(want["records"], got_records)):
            for field in fields:
                gv = g.get(field) if isinstance(g, dict) else None
                if gv != w[field]:
                    problems.add("%s differs" % field,
                                 "line %d (%s) record %d: got %s, expected %s"
                                 % (number, kind, index, short(gv), short(w[field])))

    aggregates = [e for e in expected if e["aggregated"]]
    users = sum(len(e["records"]) for e in aggregates)
    with_ehk = sum(1 for e in aggregates for r in e["records"] if r["explicit_hash_key"] is not None)
    sizes = [len(e["records"]) for e in aggregates] or [0]
    text = ("%d user records (%d with explicit hash keys) in %d aggregates of %d-%d records, "
            "and %d plain records" % (users, with_ehk, len(aggregates), min(sizes), max(sizes),
                                      len(expected) - len(aggregates)))
    if not problems:
        text += "; partition keys, explicit hash keys, data and order all match"
    return report(name, problems, text)


# --- check-efo: boto3's subscribe_to_shard against kbench serve --------------------------------


def wait_until(what, deadline, done):
    while not done():
        if time.monotonic() > deadline:
            raise TimeoutError("%s took too long" % what)
        time.sleep(0.05)


def read_session(client, consumer, position, deadline):
    """One subscription until its session ends: (data of its records, last continuation,
    events)."""
    response = client.subscribe_to_shard(
        ConsumerARN=consumer, ShardId="shardId-000000000000", StartingPosition=position)
    data, continuation, events = [], None, 0
    for event in response["EventStream"]:
        if time.monotonic() > deadline:
            raise TimeoutError("a subscription did not end (is --efo-session short?)")
        body = event.get("SubscribeToShardEvent")
        if body is None:
            raise ValueError("an event other than SubscribeToShardEvent: %r" % sorted(event))
        events += 1
        data.extend(r["Data"].decode("utf-8", "replace") for r in body["Records"])
        continuation = body.get("ContinuationSequenceNumber", continuation)
    return data, continuation, events


def cmd_check_efo(args):
    name = "boto3 subscribe_to_shard -> kbench"
    problems = Problems()
    client = kinesis_client(args.url)
    deadline = time.monotonic() + args.timeout
    stream = args.stream

    def summary():
        return client.describe_stream_summary(StreamName=stream)["StreamDescriptionSummary"]

    client.create_stream(StreamName=stream, ShardCount=1)
    wait_until("CreateStream", deadline, lambda: summary()["StreamStatus"] == "ACTIVE")
    consumer = client.register_stream_consumer(
        StreamARN=summary()["StreamARN"], ConsumerName="interop")["Consumer"]["ConsumerARN"]
    wait_until("RegisterStreamConsumer", deadline, lambda: client.describe_stream_consumer(
        ConsumerARN=consumer)["ConsumerDescription"]["ConsumerStatus"] == "ACTIVE")

    def put(data):
        return client.put_record(StreamName=stream, Data=data.encode(), PartitionKey="k")["SequenceNumber"]

    written = ["r%d" % i for i in range(10)]
    seqs = [put(d) for d in written]
    # the ferrokinesis bug: AFTER_SEQUENCE_NUMBER started again at TRIM_HORIZON
    got, continuation, events = read_session(
        client, consumer, {"Type": "AFTER_SEQUENCE_NUMBER", "SequenceNumber": seqs[2]}, deadline)
    if got != written[3:]:
        problems.add("AFTER_SEQUENCE_NUMBER of r2 gave %s, expected r3..r9" % short(got))
    if continuation != seqs[-1]:
        problems.add("the last ContinuationSequenceNumber is %s, expected r9's %s"
                     % (short(continuation), seqs[-1]))
    sessions, renewed = 1, []
    for round_ in range(2):
        more = ["s%d-%d" % (round_, i) for i in range(5)]
        for d in more:
            put(d)
        written.extend(more)
        got, next_continuation, n = read_session(
            client, consumer, {"Type": "AFTER_SEQUENCE_NUMBER", "SequenceNumber": continuation},
            deadline)
        sessions, events = sessions + 1, events + n
        renewed.extend(got)
        if got != more:
            problems.add("renewal %d gave %s, expected %s" % (round_ + 1, short(got), short(more)))
        continuation = next_continuation or continuation
    if len(renewed) != len(set(renewed)):
        problems.add("a renewal repeated records: %s" % short(renewed))
    text = ("%d records written, %d sessions ended by themselves and renewed from their "
            "continuation, %d events" % (len(written), sessions, events))
    if not problems:
        text += "; each record came once, in order, from where it was asked"
    return report(name, problems, text)


def cmd_check_s3(args):
    """S3 and Kinesis on one `kbench serve --s3-dir` port, through boto3's AWS_ENDPOINT_URL."""
    name = "boto3 s3 + firehose + kinesis -> kbench serve (one port)"
    problems = Problems()

    def expect(ok, problem):
        if not ok:
            problems.add(problem)

    kinesis_client(args.url)  # only for what it does to the environment
    import boto3
    from botocore.exceptions import ClientError

    os.environ["AWS_ENDPOINT_URL"] = args.url
    session = boto3.session.Session(
        aws_access_key_id="x", aws_secret_access_key="x", region_name="us-east-1")
    s3, kinesis = session.client("s3"), session.client("kinesis")
    body = b'{"n": 1}\n{"n": 2}\n'
    key = "2026/12/02/00/kbench-interop-1-2026-12-02-00-00-00-0000"
    s3.create_bucket(Bucket="kbench-interop")
    s3.put_object(Bucket="kbench-interop", Key=key, Body=body)
    listed = [o["Key"] for o in s3.list_objects_v2(
        Bucket="kbench-interop", Prefix="2026/12/").get("Contents", [])]
    expect(listed == [key], "listing the prefix gave %s, not [%s]" % (listed, key))
    got = s3.get_object(Bucket="kbench-interop", Key=key)["Body"].read()
    expect(got == body, "the object read back %r, not %r" % (got, body))
    on_disk = os.path.join(args.dir, "kbench-interop", key)
    expect(os.path.isfile(on_disk) and open(on_disk, "rb").read() == body,
                   "the object is not the plain file %s" % on_disk)
    kinesis.create_stream(StreamName="kbench-interop-s3", ShardCount=1)
    deadline = time.monotonic() + args.timeout
    wait_until("CreateStream", deadline, lambda: kinesis.describe_stream_summary(
        StreamName="kbench-interop-s3")["StreamDescriptionSummary"]["StreamStatus"] == "ACTIVE")
    firehose = session.client("firehose")
    role = "arn:aws:iam::000000000000:role/kbench-interop"
    delimiter = {"Enabled": True, "Processors": [{"Type": "AppendDelimiterToRecord"}]}
    firehose.create_delivery_stream(
        DeliveryStreamName="kbench-interop", DeliveryStreamType="KinesisStreamAsSource",
        KinesisStreamSourceConfiguration={
            "KinesisStreamARN": "arn:aws:kinesis:us-east-1:000000000000:stream/kbench-interop-s3",
            "RoleARN": role},
        ExtendedS3DestinationConfiguration={
            "RoleARN": role, "BucketARN": "arn:aws:s3:::kbench-interop", "Prefix": "stream/",
            "BufferingHints": {"SizeInMBs": 1, "IntervalInSeconds": 1},
            "ProcessingConfiguration": delimiter})
    firehose.create_delivery_stream(
        DeliveryStreamName="kbench-interop-direct", DeliveryStreamType="DirectPut",
        ExtendedS3DestinationConfiguration={
            "RoleARN": role, "BucketARN": "arn:aws:s3:::kbench-interop",
            "Prefix": "direct/!{timestamp:yyyy}/", "ErrorOutputPrefix": "errors/",
            "CompressionFormat": "GZIP",
            "BufferingHints": {"SizeInMBs": 1, "IntervalInSeconds": 1}})
    for delivery in ("kbench-interop", "kbench-interop-direct"):
        wait_until("CreateDeliveryStream", deadline, lambda: firehose.describe_delivery_stream(
            DeliveryStreamName=delivery)["DeliveryStreamDescription"][
                "DeliveryStreamStatus"] == "ACTIVE")
    names = firehose.list_delivery_streams()["DeliveryStreamNames"]
    expect(names == ["kbench-interop", "kbench-interop-direct"],
           "ListDeliveryStreams gave %s" % names)
    try:
        firehose.put_record(DeliveryStreamName="kbench-interop", Record={"Data": b"x"})
        expect(False, "PutRecord to a stream-sourced delivery stream was taken")
    except ClientError as e:
        code = e.response["Error"]["Code"]
        expect(code == "InvalidArgumentException",
               "PutRecord to a stream-sourced delivery stream got %s" % code)
    # Firehose reads from LATEST once ACTIVE: what is put now is delivered
    sent = [b'{"n": %d}' % i for i in range(200)]
    for i in range(0, len(sent), 50):
        kinesis.put_records(StreamName="kbench-interop-s3", Records=[
            {"Data": d, "PartitionKey": str(j)} for j, d in enumerate(sent[i:i + 50])])
    direct = [b"direct-%d" % i for i in range(120)]
    firehose.put_record_batch(DeliveryStreamName="kbench-interop-direct",
                              Records=[{"Data": d} for d in direct[:100]])
    for d in direct[100:]:
        firehose.put_record(DeliveryStreamName="kbench-interop-direct", Record={"Data": d})

    def objects(prefix):
        return [o["Key"] for o in s3.list_objects_v2(
            Bucket="kbench-interop", Prefix=prefix).get("Contents", [])]

    def delivered(prefix, gz):
        out = []
        for k in objects(prefix):
            data = s3.get_object(Bucket="kbench-interop", Key=k)["Body"].read()
            out.append(gzip.decompress(data) if gz else data)
        return out

    wait_until("delivery from the stream", deadline, lambda: b"".join(
        delivered("stream/", False)).count(b"\n") >= len(sent))
    wait_until("DirectPut delivery", deadline, lambda: sum(
        len(b) for b in delivered("direct/", True)) >= sum(len(d) for d in direct))
    got = sorted(b"".join(delivered("stream/", False)).split(b"\n")[:-1])
    expect(got == sorted(sent), "the stream's objects hold %d records, not the %d sent once each"
           % (len(got), len(sent)))
    key_shape = re.compile(r"^stream/\d{4}/\d{2}/\d{2}/\d{2}/kbench-interop-1-"
                           r"\d{4}-\d{2}-\d{2}-\d{2}-\d{2}-\d{2}-[0-9a-f-]{36}$")
    for k in objects("stream/"):
        expect(key_shape.match(k), "object key %s is not named as Firehose names them" % k)
    direct_keys = objects("direct/")
    year = time.strftime("%Y", time.gmtime())
    expect(all(k.startswith("direct/%s/kbench-interop-direct-1-" % year) and k.endswith(".gz")
               for k in direct_keys), "DirectPut object keys %s" % direct_keys)
    got = b"".join(delivered("direct/", True))
    expect(got == b"".join(direct), "the DirectPut objects gunzip to %r..., not the records "
           "concatenated in order" % got[:40])
    try:
        boto3.session.Session(aws_access_key_id="nobody", aws_secret_access_key="wrong",
                              region_name="us-east-1").client("s3").list_buckets()
        expect(False, "S3 answered a request signed with an unknown key")
    except ClientError as e:
        code = e.response["Error"]["Code"]
        expect(code == "NotSignedUp", "an unknown key got %s, not NotSignedUp" % code)
    return report(name, problems, "bucket, object (a plain file on disk), listing; a Kinesis "
                  "stream and two Firehose delivery streams on one URL: %d records read from the "
                  "stream and delivered once each with newlines, %d DirectPut records in GZIP "
                  "objects, keys named as Firehose names them; an unknown key refused"
                  % (len(sent), len(direct)))


# --- main --------------------------------------------------------------------------------------


def main():
    parser = argparse.ArgumentParser(
        prog="interop.py", description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("check-stream", help="read the stream kbench wrote and check it")
    p.set_defaults(check="kbench -> aws-kinesis-agg")
    p.add_argument("url")
    p.add_argument("stream")
    p.add_argument("kbench_rc", type=int)
    p.add_argument("summary")
    p.add_argument("--max-aggregate-bytes", type=int, default=0)
    p.add_argument("--read-timeout", type=float, default=60.0)
    p.set_defaults(func=cmd_check_stream)

    p = sub.add_parser("make-aggregates", help="write reference aggregates and their expectation")
    p.add_argument("out_hex")
    p.add_argument("out_expected")
    p.add_argument("--seed", type=int, default=1)
    p.set_defaults(func=cmd_make_aggregates)

    p = sub.add_parser("check-deaggregated", help="compare deaggregate's output with the expectation")
    p.set_defaults(check="aws-kinesis-agg -> kbench")
    p.add_argument("expected")
    p.add_argument("actual")
    p.add_argument("deaggregate_rc", type=int, nargs="?")
    p.set_defaults(func=cmd_check_deaggregated)

    p = sub.add_parser("check-efo", help="boto3's subscribe_to_shard against kbench serve")
    p.set_defaults(check="boto3 subscribe_to_shard -> kbench")
    p.add_argument("url")
    p.add_argument("stream")
    p.add_argument("--timeout", type=float, default=120.0)
    p.set_defaults(func=cmd_check_efo)

    p = sub.add_parser("check-s3", help="boto3's S3, Firehose and Kinesis clients on one kbench serve port")
    p.set_defaults(check="boto3 s3 + firehose + kinesis -> kbench serve (one port)")
    p.add_argument("url")
    p.add_argument("dir", help="the --s3-dir kbench serve was given")
    p.add_argument("--timeout", type=float, default=60.0)
    p.set_defaults(func=cmd_check_s3)

    args = parser.parse_args()
    try:
        import aws_kinesis_agg  # noqa: F401
    except ImportError as e:
        print("interop.py: %s (put aws-kinesis-agg and its dependencies on PYTHONPATH; "
              "scripts/interop.sh does)" % e, file=sys.stderr)
        return 2
    try:
        return args.func(args)
    except Exception as e:  # noqa: BLE001 - a check that crashes still says FAIL
        traceback.print_exc()
        if getattr(args, "check", None):
            print("FAIL %s: interop.py crashed: %s: %s" % (args.check, type(e).__name__, e))
            return 1
        return 2


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""The bill of bench/cost.sh's months: reads WORK/{s3,dynamodb}-{typical,idle}
.json (cost_month's reports) and .log (moto's request log of the month),
prints the requests counted and the monthly bill per setup.

Usage: cost_report.py WORK MEMORY_MB POSTS NEW_POSTS VIEWS WEBMENTIONS REPLIES
"""

import json
import re
import sys

# Public list prices, US East (N. Virginia) for AWS and the standard plan for
# DigitalOcean, as the providers' pricing pages gave them in 2025 (DynamoDB
# on-demand after AWS's November 2024 reduction, confirmed against a 2025
# copy); written down December 2026 without a fresh look at the live pages,
# which this machine cannot reach: check them before quoting a figure.
PRICES_DATE = "2025 (written down December 2026)"
LAMBDA_PER_REQUEST = 0.20 / 1e6  # $0.20 per 1M requests
LAMBDA_PER_GB_S = 0.0000166667  # x86_64; arm64 is $0.0000133334
S3_PER_PUT_LIST = 0.005 / 1000  # PUT, COPY, POST, LIST
S3_PER_GET_HEAD = 0.0004 / 1000  # GET, HEAD and the rest (DELETE is free)
DDB_PER_WRITE_UNIT = 0.625 / 1e6  # on-demand write request unit
DDB_PER_READ_UNIT = 0.125 / 1e6  # on-demand read request unit
DO_FUNCTIONS_PER_GB_S = 0.0000185  # no per-request charge
SPACES_SUBSCRIPTION = 5.00  # per month: 250 GB and 1 TB transfer, no request charges

FREE_TIERS = [
    "Lambda: 1M requests and 400,000 GB-s a month, always free",
    "DynamoDB: 25 GB of storage, always free (on-demand units have no free tier)",
    "S3: 2,000 PUT/LIST and 20,000 GET a month, 5 GB, for 12 months"
    " (accounts created before 15 July 2025; newer ones get credits instead)",
    "DigitalOcean Functions: 90,000 GB-s a month, always free",
]

LINE = re.compile(r'"(GET|PUT|HEAD|POST|DELETE) (\S+) HTTP/1\.[01]" (\d{3})')
# moto's server (werkzeug) colours the request lines of answers other than
# 200 (a 204 DELETE, a 404 GET): the escapes go before matching.
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def s3_requests(log_path):
    counts = {"PUT/LIST": 0, "GET/HEAD": 0, "DELETE": 0}
    with open(log_path) as log:
        for line in log:
            match = LINE.search(ANSI.sub("", line))
            if not match:
                continue
            method, path, _ = match.groups()
            if path == "/" or path.startswith("/?"):
                continue  # DynamoDB (POST /), not S3
            if method == "GET" and ("list-type=" in path or "prefix=" in path):
                counts["PUT/LIST"] += 1
            elif method in ("PUT", "POST"):
                counts["PUT/LIST"] += 1
            elif method == "DELETE":
                counts["DELETE"] += 1
            else:
                counts["GET/HEAD"] += 1
    return counts


def compute(report, memory_mb):
    invocations = sum(report[k]["invocations"] for k in ("views", "webmentions", "scheduled"))
    billed_ms = sum(report[k]["billed_ms"] for k in ("views", "webmentions", "scheduled"))
    gb_s = billed_ms / 1000 * memory_mb / 1024
    return invocations, gb_s


def main():
    work, memory_mb = sys.argv[1], int(sys.argv[2])
    posts, new_posts, views, webmentions, replies = sys.argv[3:8]
    rows = []
    for month in ("typical", "idle"):
        s3 = json.load(open(f"{work}/s3-{month}.json"))
        ddb = json.load(open(f"{work}/dynamodb-{month}.json"))
        s3_counts = s3_requests(f"{work}/s3-{month}.log")
        s3_inv, s3_gbs = compute(s3, memory_mb)
        ddb_inv, ddb_gbs = compute(ddb, memory_mb)
        lambda_s3 = s3_inv * LAMBDA_PER_REQUEST + s3_gbs * LAMBDA_PER_GB_S
        store_s3 = (s3_counts["PUT/LIST"] * S3_PER_PUT_LIST
                    + s3_counts["GET/HEAD"] * S3_PER_GET_HEAD)
        lambda_ddb = ddb_inv * LAMBDA_PER_REQUEST + ddb_gbs * LAMBDA_PER_GB_S
        store_ddb = (ddb["dynamodb_read_units"] * DDB_PER_READ_UNIT
                     + ddb["dynamodb_write_units"] * DDB_PER_WRITE_UNIT)
        do_compute = s3_gbs * DO_FUNCTIONS_PER_GB_S
        rows.append((month, s3, ddb, s3_counts, s3_inv, s3_gbs, ddb_inv, ddb_gbs,
                     lambda_s3, store_s3, lambda_ddb, store_ddb, do_compute))

    print(f"\n== one month: {posts} posts (+{new_posts} new), {views} widget views a day, "
          f"{webmentions} webmentions, a scheduled run every 5 minutes; "
          f"{replies} replies a thread; {memory_mb} MB functions")
    print("requests counted (moto), per month:")
    print("| month | invocations (views / webmentions / scheduled) | jobs run | GB-s | S3 PUT+LIST "
          "| S3 GET+HEAD | S3 DELETE | DynamoDB requests | read units | write units |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for (month, s3, ddb, counts, s3_inv, s3_gbs, ddb_inv, ddb_gbs, *_rest) in rows:
        print(f"| {month} (S3) | {s3_inv:,} ({s3['views']['invocations']:,} / "
              f"{s3['webmentions']['invocations']} / {s3['scheduled']['invocations']:,}) "
              f"| {s3['jobs_run']:,} | {s3_gbs:,.1f} | {counts['PUT/LIST']:,} | {counts['GET/HEAD']:,} "
              f"| {counts['DELETE']:,} | | | |")
        print(f"| {month} (DynamoDB) | {ddb_inv:,} | {ddb['jobs_run']:,} | {ddb_gbs:,.1f} | | | | "
              f"{ddb['dynamodb_requests']:,} | {ddb['dynamodb_read_units']:,.0f} "
              f"| {ddb['dynamodb_write_units']:,.0f} |")
        if month == "typical" and (s3["jobs_run"] == 0 or ddb["jobs_run"] == 0):
            sys.exit("cost_report: no job ran in the typical month: the scheduled runs did nothing")
    print(f"\nmonthly bill, marginal (list prices of {PRICES_DATE}; free tiers and "
          "subscriptions below, not in the figures):")
    print("| setup | typical month | idle month |")
    print("|---|---|---|")
    typical, idle = rows
    def cell(row, which):
        lambda_s3, store_s3, lambda_ddb, store_ddb, do_compute = row[8:13]
        return {
            "s3": (lambda_s3 + store_s3, f"compute ${lambda_s3:.4f} + S3 ${store_s3:.4f}"),
            "ddb": (lambda_ddb + store_ddb,
                    f"compute ${lambda_ddb:.4f} + DynamoDB ${store_ddb:.4f}"),
            "do": (do_compute, f"compute ${do_compute:.4f} + Spaces requests $0"),
        }[which]
    for name, which in (("Lambda + S3", "s3"), ("Lambda + DynamoDB", "ddb"),
                        ("DigitalOcean Functions + Spaces", "do")):
        t, ti = cell(typical, which)
        i, ii = cell(idle, which)
        print(f"| {name} | ${t:.4f} ({ti}) | ${i:.4f} ({ii}) |")
    print("\nnot in the figures:")
    print(f"- Spaces subscription: ${SPACES_SUBSCRIPTION:.2f} a month (often already paid for other things)")
    print("- storage: well under 1 GB for such a blog (S3 $0.023/GB, DynamoDB $0.25/GB beyond 25 GB free)")
    for tier in FREE_TIERS:
        print(f"- free tier: {tier}")


if __name__ == "__main__":
    main()

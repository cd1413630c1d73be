#!/usr/bin/env python3
"""Side by side: DistillWatch's scan and DuckDB on the same traffic file.

DuckDB computes per-account exchange counts, output-token sums and distinct active hours
(the plain aggregates underneath DistillWatch's volume and round-the-clock signals);
DistillWatch runs its whole scan (ingest, reorder buffer, every behaviour signal, verdicts,
report) with content signals off (`--no-content`), and again with them on. Both use both
cores. Prints the wall-clock times (best of N runs) and the ratios.

usage: python3 Benchmarks/duckdb_compare.py TRAFFIC.jsonl [--runs 3] [--distillwatch PATH]
needs: pip install duckdb
"""
import argparse, subprocess, sys, time

def best_of(runs, fn):
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return min(times), result

def duckdb_query(path):
    """Per-account exchange counts, output-token sums and distinct active hours of a v1 file
    (times as RFC 3339 text or epoch milliseconds), reading only the three columns."""
    reader = (f"read_json('{path}', format = 'newline_delimited', "
              "columns = {\"time\": 'JSON', \"account_id\": 'VARCHAR', \"output_tokens\": 'BIGINT'})")
    return f"""
        WITH t AS (
          SELECT account_id, output_tokens,
                 CASE WHEN json_type(raw_time) IN ('UBIGINT', 'BIGINT')
                      THEN make_timestamp(CAST(raw_time AS BIGINT) * 1000)
                      ELSE CAST(CAST(json_extract_string(raw_time, '$') AS TIMESTAMPTZ) AS TIMESTAMP) END AS ts
          FROM {reader} AS r(raw_time, account_id, output_tokens)
        )
        SELECT account_id, count(*) AS exchanges, sum(output_tokens) AS output_tokens,
               count(DISTINCT date_trunc('hour', ts)) AS active_hours
        FROM t GROUP BY account_id
    """

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("traffic")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--distillwatch", default=".build/release/distillwatch")
    args = ap.parse_args()
    import duckdb

    query = duckdb_query(args.traffic)
    con = duckdb.connect()
    duck_time, rows = best_of(args.runs, lambda: con.execute(query).fetchall())
    total = sum(r[1] for r in rows)

    def scan(*extra):
        return lambda: subprocess.run([args.distillwatch, "scan", "--quiet", "--no-progress", *extra, args.traffic],
                                      check=True)
    dw_time, _ = best_of(args.runs, scan("--no-content"))
    dw_content_time, _ = best_of(args.runs, scan("--content-key", "0123456789abcdef0123456789abcdef"))

    print(f"file: {args.traffic}: {total} exchanges, {len(rows)} accounts (DuckDB {duckdb.__version__})")
    print(f"DuckDB aggregates (count, token sum, distinct hours): {duck_time:.2f} s  {total / duck_time:,.0f} exchanges/s")
    print(f"DistillWatch scan, behaviour signals (--no-content):  {dw_time:.2f} s  {total / dw_time:,.0f} exchanges/s")
    print(f"DistillWatch scan, behaviour and content signals:     {dw_content_time:.2f} s  {total / dw_content_time:,.0f} exchanges/s")
    print(f"ratio DuckDB time / DistillWatch time: {duck_time / dw_time:.2f} (behaviour), {duck_time / dw_content_time:.2f} (with content)")

if __name__ == "__main__":
    main()

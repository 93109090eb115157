#!/usr/bin/python3
"""Seeds a SQLite store with many threats fast, for the export test and bench/export-bench.

seed_threats.py <honeyman binary> <sqlite file> <rows>

`honeyman seed-data` writes 5,000 realistic threats (20 sensors, two days), then SQL copies them
(new random ids, each copy ten minutes earlier) straight into `threats`, with its indexes dropped
meanwhile and rebuilt once. Only `threats` is filled this way: rollups, totals and sensor
counters count the first 5,000 (the export reads the rows alone; the list's `total` is off).
"""
import os
import sqlite3
import subprocess
import sys

SEED_ROWS = 5000


def seed(binary, db_path, rows):
    """Fills the SQLite database `db_path` with `rows` threats; returns the count."""
    env = dict(os.environ, DATABASE_URL=f"sqlite:///{db_path}", SECRET_KEY="x" * 48)
    subprocess.run([binary, "seed-data", "--threats", str(SEED_ROWS), "--sensors", "20",
                    "--days", "2"], env=env, check=True, capture_output=True)
    db = sqlite3.connect(db_path)
    db.execute("PRAGMA synchronous=OFF")
    db.execute("PRAGMA cache_size=-262144")
    # Building the indexes once after the copy is ~3x faster than keeping them up to date.
    indexes = [r[0] for r in db.execute(
        "SELECT sql FROM sqlite_master WHERE type='index' AND tbl_name='threats' AND sql IS NOT NULL")]
    for sql in indexes:
        db.execute("DROP INDEX " + sql.split()[2])
    columns = [r[1] for r in db.execute("PRAGMA table_info(threats)") if r[1] not in ("seq", "id")]
    copies = (rows - SEED_ROWS + SEED_ROWS - 1) // SEED_ROWS
    # Ten minutes apart: 1 M rows stay within a few days, well inside the retention window.
    select = ", ".join("timestamp - k * 600000000" if c == "timestamp" else c for c in columns)
    uuid = ("lower(substr(h,1,8)||'-'||substr(h,9,4)||'-4'||substr(h,14,3)||'-a'||"
            "substr(h,18,3)||'-'||substr(h,21,12))")
    db.execute(f"""INSERT INTO threats (id, {', '.join(columns)})
        WITH RECURSIVE n(k) AS (SELECT 1 UNION ALL SELECT k + 1 FROM n WHERE k < {copies})
        SELECT {uuid}, {select} FROM (SELECT hex(randomblob(16)) AS h, * FROM threats, n)
        LIMIT {rows - SEED_ROWS}""")
    for sql in indexes:
        db.execute(sql)
    db.commit()
    count = db.execute("SELECT count(*) FROM threats").fetchone()[0]
    db.close()
    return count


if __name__ == "__main__":
    print(seed(sys.argv[1], sys.argv[2], int(sys.argv[3])))

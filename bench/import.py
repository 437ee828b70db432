"""Benchmark of the dossier import (issue 15).

    .venv/bin/python bench/import.py [--rows 100000] [--url sqlite:///...] [--batch-size 500]

Acceptance: at least 200 rows/s on SQLite and a peak resident size under 300 MB for
100,000 rows, memory flat in the number of rows.

A CSV export of ``--rows`` dossiers in the sample's format (``dossiers_import_sample.csv``:
Vietnamese headers, every status, some rows without the time their status implies) is
generated into a temporary folder, then imported by ``flask import dossiers`` logic
(``services.import_file``) into a fresh database with the demo catalog, each run in its own
child process so that ``resource.getrusage(RUSAGE_CHILDREN)`` is that import's peak resident
size. Runs: a tenth of the rows, then all of them (memory flat: the two peaks should be close),
then the same file again (the idempotent no-op pass). Printed: rows, seconds, rows/s, peak MB.
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

NOW = datetime(2026, 12, 1, 9, 0)
STATUSES = ["Mới tiếp nhận", "Đang xử lý", "Chờ bổ sung", "Đã có kết quả", "Đã trả kết quả", "Đã trả kết quả",
            "Đã trả kết quả", "Trả lại hồ sơ", "Rút hồ sơ"]
HEADER = ["Mã hồ sơ", "Mã TTHC", "Tên thủ tục", "Loại chủ hồ sơ", "Chủ hồ sơ", "Số giấy tờ", "Số điện thoại", "Email",
          "Địa chỉ", "Hình thức nộp", "Nơi tiếp nhận", "Ngày tiếp nhận", "Ngày hẹn trả", "Đơn vị xử lý",
          "Ngày chuyển xử lý", "Ngày có kết quả", "Kết quả", "Ngày trả kết quả", "Trạng thái", "Ngày cập nhật",
          "Ghi chú"]
PROCEDURES = [("2.002131.000.00.00.H58", "Thủ tục khai báo thiết bị X-quang chẩn đoán trong y tế"),
              ("1.014393.H38", "Công nhận trung tâm nghiên cứu và phát triển (Sở Khoa học và Công nghệ)"),
              ("", "Cấp Giấy chứng nhận doanh nghiệp khoa học và công nghệ"),
              ("3.000453.000.00.00.H37", "Thủ tục cấp đăng ký hoạt động thử nghiệm chất lượng sản phẩm, hàng hóa"),
              ("", "Thủ tục điều chỉnh nội dung bản công bố sử dụng dấu định lượng")]
NAMES = ["Nguyễn Văn An", "Trần Thị Bình", "Lê Minh Châu", "Phạm Quốc Dũng", "Hoàng Thị Yến", "Võ Ngọc Hạnh"]
CHANNELS = ["Trực tiếp", "Trực tuyến", "Bưu chính công ích"]


def fmt(dt: datetime) -> str:
    return f"{dt:%d/%m/%Y %H:%M}"


def generate(path: str, rows: int, seed: int = 15) -> None:
    """``rows`` dossiers received over 2024-01..2026-11, each with times consistent with its status."""
    rnd = random.Random(seed)
    first = datetime(2024, 1, 2, 7, 0)
    span = (datetime(2026, 11, 20, 17, 0) - first).total_seconds()
    per_day: dict[str, int] = {}
    with open(path, "w", encoding="utf-8-sig", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(HEADER)
        for i in range(rows):
            received = (first + timedelta(seconds=rnd.random() * span)).replace(second=0, microsecond=0)
            day = f"{received:%y%m%d}"
            per_day[day] = per_day.get(day, 0) + 1
            code = f"H49.36-{day}-{per_day[day]:05d}"
            national, name = PROCEDURES[i % len(PROCEDURES)]
            status = STATUSES[rnd.randrange(len(STATUSES))]
            forwarded = received + timedelta(hours=1) if status != "Mới tiếp nhận" else None
            finished = received + timedelta(days=rnd.randint(1, 9)) if status in ("Đã có kết quả",
                                                                                  "Đã trả kết quả") else None
            handed = finished + timedelta(days=1) if status == "Đã trả kết quả" else None
            updated = max(t for t in (received, forwarded, finished, handed) if t) + timedelta(hours=2)
            out.writerow([
                code, national, name, "Công dân", NAMES[i % len(NAMES)], f"0{rnd.randrange(10**10, 10**11)}",
                f"09{rnd.randrange(10**7, 10**8)}", "", "Phường Bà Rịa, TP. Hồ Chí Minh", CHANNELS[i % 3],
                "Trung tâm Phục vụ hành chính công", fmt(received), fmt(received + timedelta(days=10)), "",
                fmt(forwarded) if forwarded and i % 4 else "",  # every fourth forward without its time
                fmt(finished) if finished else "", "Cấp phép" if finished else "", fmt(handed) if handed else "",
                status, fmt(updated), "Người nộp rút hồ sơ" if status == "Rút hồ sơ" else "",
            ])


def _app(url: str):
    from config import TestingConfig
    from tthc import create_app

    return create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=url)


def child(url: str, path: str, batch_size: int, prepare: bool) -> None:
    from intake.dossier_import import services
    from intake.dossier_import.mapping import Mapping
    from tthc.extensions import db

    app = _app(url)
    with app.app_context():
        if prepare:
            import tthc.demo
            from tthc.demo import load_demo

            db.create_all()
            tthc.demo.ACCOUNTS = []
            load_demo(db.session, echo=lambda _l: None)
            db.session.commit()
        start, cpu = time.perf_counter(), time.process_time()
        with open(path, "rb") as fh:
            run_id = services.import_file(db.session, fh, os.path.basename(path), mapping=Mapping(), now=NOW,
                                          agency_code=app.config["AGENCY_CODE"], commit=db.session.commit,
                                          source="cli", batch_size=batch_size)
        seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
        from tthc.models import ImportRun

        counts = db.session.get(ImportRun, run_id).counts
    print(json.dumps({"seconds": seconds, "cpu": cpu, "counts": counts}))


def measure(url: str, path: str, batch_size: int, prepare: bool) -> dict:
    """Run one import in a middle process whose only child is the import: its RUSAGE_CHILDREN is the peak."""
    out = subprocess.run([sys.executable, __file__, "--middle", "--url", url, "--file", path,
                          "--batch-size", str(batch_size)] + (["--prepare"] if prepare else []),
                         check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def middle(url: str, path: str, batch_size: int, prepare: bool) -> None:
    out = subprocess.run([sys.executable, __file__, "--child", "--url", url, "--file", path,
                          "--batch-size", str(batch_size)] + (["--prepare"] if prepare else []),
                         check=True, capture_output=True, text=True)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    result["peak_mb"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(json.dumps(result))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--url", default=None, help="database URL (default: a fresh SQLite file per run)")
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--middle", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--prepare", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--file", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(args.url, args.file, args.batch_size, args.prepare)
    if args.middle:
        return middle(args.url, args.file, args.batch_size, args.prepare)

    with tempfile.TemporaryDirectory(prefix="tthc-bench-import-") as tmp:
        small, large = max(1, args.rows // 10), args.rows
        files = {}
        for n in (small, large):
            files[n] = os.path.join(tmp, f"dossiers_{n}.csv")
            t = time.perf_counter()
            generate(files[n], n)
            print(f"generated {n:>7} rows ({os.path.getsize(files[n]) / 2**20:.1f} MB) in "
                  f"{time.perf_counter() - t:.1f} s")
        print(f"load average before the runs: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores "
              "(rows/s is wall-clock; rows per CPU-second shows what contention hides)")
        print(f"{'run':<22} {'rows':>8} {'created':>8} {'unchanged':>9} {'rejected':>8} {'s':>8} {'rows/s':>8} "
              f"{'rows/cpu-s':>10} {'peak MB':>8}")
        results = {}
        for label, n, fresh in (("first import (1/10)", small, True), ("first import", large, True),
                                ("same file again", large, False)):
            url = args.url or "sqlite:///" + os.path.join(tmp, f"bench_{n}.sqlite")
            r = measure(url, files[n], args.batch_size, prepare=fresh and (args.url is None or n == small))
            c = r["counts"]
            results[label] = r
            print(f"{label:<22} {n:>8} {c['created']:>8} {c['unchanged']:>9} {c['rejected']:>8} "
                  f"{r['seconds']:>8.1f} {n / r['seconds']:>8.0f} {n / r['cpu']:>10.0f} {r['peak_mb']:>8.0f}")
        a, b = results["first import (1/10)"], results["first import"]
        print(f"peak memory ratio, {large} rows vs {small} rows: {b['peak_mb'] / a['peak_mb']:.2f} "
              f"(flat: close to 1; linear would be about 10)")
        rate = large / b["seconds"]
        print(f"acceptance: {rate:.0f} rows/s {'>=' if rate >= 200 else '<'} 200, peak {b['peak_mb']:.0f} MB "
              f"{'<' if b['peak_mb'] < 300 else '>='} 300 MB")


if __name__ == "__main__":
    main()

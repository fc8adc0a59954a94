"""Enrollment's command line.

    python -m tandem_enrollment.entrypoints.cli import PROGRAM_ID FILE [--url URL] [--format csv|jsonl]
        [--token TOKEN]      # a bearer token (default: $TANDEM_TOKEN), e.g. an HR system's

`import` uploads the file to a running service (`make run` serves enrollment on port 8001), follows
the job with a progress bar and prints the rows that were not enrolled. Exit status: 0 all rows
enrolled (or already enrolled), 3 some rows rejected, 1 the job failed, 2 the service refused it.

The published event contracts are written by the kernel's `tandem contracts enrollment`.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path
from typing import Any, TextIO

import httpx

__all__ = ["import_file", "main"]

_MEDIA_TYPES = {"csv": "text/csv", "jsonl": "application/x-ndjson"}


def _bar(done: int, total: int | None, out: TextIO, width: int = 30) -> None:
    fraction = done / total if total else 0.0
    filled = int(fraction * width)
    out.write(f"\rimporting [{'#' * filled}{'-' * (width - filled)}] {fraction:4.0%} {done:,}/{total or 0:,} rows")
    out.flush()


async def import_file(
    url: str,
    program_id: str,
    path: Path,
    *,
    token: str,
    file_format: str | None = None,
    out: TextIO = sys.stderr,
) -> int:
    """Import `path` into `program_id` through the API at `url`, with the bearer `token` (HR's, or an
    HR system's with `enrollment:write`); returns the exit status."""
    chosen = file_format or ("jsonl" if path.suffix.lower() in (".jsonl", ".ndjson") else "csv")
    content = await asyncio.to_thread(path.read_bytes)
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=url, timeout=120, headers=headers) as http:
        started = await http.post(
            f"/programs/{program_id}/imports",
            content=content,
            headers={"Content-Type": _MEDIA_TYPES[chosen]},
        )
        if started.status_code != 202:
            problem = started.json() if started.headers.get("content-type", "").endswith("json") else {}
            print(f"refused ({started.status_code}): {problem.get('detail', started.text)}", file=out)
            return 2
        job_url = started.headers["location"]
        while (job := (await http.get(job_url, params={"report_limit": 0})).json())["status"] in ("queued", "running"):
            _bar(job["processed"], job["total"], out)
            await asyncio.sleep(0.25)
        _bar(job["processed"], job["total"], out)
        out.write("\n")
        await _print_report(http, job_url, job, out)
    if job["status"] == "failed":
        return 1
    return 3 if job["rejected"] else 0


async def _print_report(http: httpx.AsyncClient, job_url: str, job: dict[str, Any], out: TextIO) -> None:
    print(
        f"{job['status']}: {job['enrolled']:,} enrolled, {job['duplicates']:,} already enrolled, "
        f"{job['rejected']:,} rejected, of {job['total'] or 0:,} rows",
        file=out,
    )
    if job["error"]:
        print(f"error: {job['error']}", file=out)
    after = 0
    while rows := (await http.get(job_url, params={"report_after_row": after, "report_limit": 1000})).json()["report"]:
        for row in rows:
            reasons = "; ".join(f"{error['field'] or 'row'}: {error['message']}" for error in row["errors"])
            print(f"  row {row['row']:>6}  {row['outcome']:<9}  {reasons}", file=out)
        after = rows[-1]["row"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="tandem-enrollment", description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True)
    upload = commands.add_parser("import", help="enroll everyone in a CSV or JSON-lines file")
    upload.add_argument("program_id")
    upload.add_argument("file", type=Path)
    upload.add_argument("--url", default="http://127.0.0.1:8001", help="the enrollment service")
    upload.add_argument("--format", choices=sorted(_MEDIA_TYPES), dest="file_format")
    upload.add_argument(
        "--token", default=os.environ.get("TANDEM_TOKEN"), help="a bearer token (default: $TANDEM_TOKEN)"
    )
    args = parser.parse_args(argv)
    if not args.token:
        parser.error("a bearer token is needed: --token or TANDEM_TOKEN (`make run` prints some)")
    return asyncio.run(
        import_file(args.url, args.program_id, args.file, token=args.token, file_format=args.file_format)
    )


if __name__ == "__main__":
    sys.exit(main())

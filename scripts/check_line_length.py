#!/usr/bin/env python3
"""Keeps every line of the Swift sources at most 120 columns (`make lint`, part of `make test`).

Walks Sources/**/*.swift, except the embedded OpenAPI document (generated from openapi.yaml by
scripts/embed_openapi.py), and prints `file:line: N columns` for each
line over the limit. Columns are characters, a tab counted as one. Exit 1 if any line is too long.

    scripts/check_line_length.py [--max N] [--exclude PATH ...]
"""
import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MAX_COLUMNS = 120
EMBEDDED_DOCUMENTS = {
    "Sources/Server/OpenAPIDocument.swift",
}


def long_lines(path, limit):
    """(line number, columns) for each line of `path` longer than `limit` characters."""
    text = path.read_text(encoding="utf-8")
    for number, line in enumerate(text.splitlines(), start=1):
        if len(line) > limit:
            yield number, len(line)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max", type=int, default=MAX_COLUMNS, help="column limit (default 120)")
    parser.add_argument("--exclude", nargs="*", default=[], metavar="PATH",
                        help="more files to skip, relative to the repository root")
    args = parser.parse_args()

    skipped = EMBEDDED_DOCUMENTS | {Path(p).as_posix() for p in args.exclude}
    found = 0
    for path in sorted((ROOT / "Sources").rglob("*.swift")):
        relative = path.relative_to(ROOT).as_posix()
        if relative in skipped:
            continue
        for number, columns in long_lines(path, args.max):
            print(f"{relative}:{number}: {columns} columns")
            found += 1
    if found:
        print(f"{found} line(s) over {args.max} columns", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Keeps the build's Debian packages in one place (`make lint`, part of `make test`; no network).

scripts/build-packages.txt lists them; scripts/setup.sh and scripts/chroot_check.sh install from it.
The Dockerfile's build stage cannot read it before its first RUN, so this check compares its
`apt-get install` line with the list, and checks that both scripts read the list instead of naming
packages of their own. Exit 1 with a message naming each difference.

    scripts/check_build_packages.py [--dockerfile PATH] [--packages PATH] [--scripts PATH ...]
"""
import argparse
import re
import shlex
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCOPES = {"all", "static"}


def dockerfile_instructions(text):
    """(stage name, instruction word, rest) per instruction, continuation lines joined."""
    lines, cur = [], ""
    for raw in text.splitlines():
        s = raw.strip()
        if s.startswith("#") or (not cur and not s):
            continue
        if s.endswith("\\"):
            cur += s[:-1] + " "
            continue
        lines.append(cur + s)
        cur = ""
    stage = None
    for line in lines:
        word, _, rest = line.partition(" ")
        word = word.upper()
        if word == "FROM":
            parts = rest.split()
            stage = parts[2] if len(parts) >= 3 and parts[1].upper() == "AS" else parts[0]
        yield stage, word, rest.strip()


def apt_installs(command):
    """Packages of every `apt-get install` in a shell command (options skipped)."""
    packages = []
    for part in re.split(r"&&|\|\||;", command):
        words = shlex.split(part)
        if "apt-get" not in words:
            continue
        rest = words[words.index("apt-get") + 1:]
        if "install" not in rest:
            continue
        packages += [w for w in rest[rest.index("install") + 1:] if not w.startswith("-")]
    return packages


def build_stage_packages(dockerfile):
    packages = []
    for stage, word, rest in dockerfile_instructions(dockerfile.read_text()):
        if stage == "build" and word == "RUN":
            packages += apt_installs(rest)
    return packages


def listed_packages(path, errors):
    """{package: scope} of build-packages.txt; format errors go to `errors`."""
    listed = {}
    for n, raw in enumerate(path.read_text().splitlines(), 1):
        fields = raw.split("#", 1)[0].split()
        if not fields:
            continue
        if len(fields) != 2 or fields[1] not in SCOPES:
            errors.append(f"{path}:{n}: expected `PACKAGE all|static`, got {raw.strip()!r}")
            continue
        listed[fields[0]] = fields[1]
    return listed


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dockerfile", type=Path, default=ROOT / "Dockerfile")
    parser.add_argument("--packages", type=Path, default=ROOT / "scripts/build-packages.txt")
    parser.add_argument("--scripts", type=Path, nargs="+",
                        default=[ROOT / "scripts/setup.sh", ROOT / "scripts/chroot_check.sh"])
    args = parser.parse_args()

    errors = []
    docker = build_stage_packages(args.dockerfile)
    listed = listed_packages(args.packages, errors)
    if not docker:
        errors.append(f"{args.dockerfile}: found no `apt-get install` in the build stage (FROM ... AS build)")
    for p in docker:
        if p.startswith("$"):
            errors.append(f"{args.dockerfile}: build stage installs {p}; name the packages there literally")
        elif p not in listed:
            errors.append(f"package {p} is installed by the Dockerfile's build stage but missing from "
                          f"{args.packages}: add it there (`all` or `static`)")
    for p in listed:
        if p not in docker:
            errors.append(f"package {p} is listed in {args.packages} but the Dockerfile's build stage "
                          f"does not install it: add it to the build stage's apt-get install or drop it")
    for script in args.scripts:
        text = script.read_text()
        if args.packages.name not in text:
            errors.append(f"{script} does not read {args.packages.name}")
        for p in listed:
            if re.search(rf"(?<![\w.-]){re.escape(p)}(?![\w.-])", text):
                errors.append(f"{script} names package {p} itself; read it from {args.packages.name}")

    if errors:
        for e in errors:
            print(f"check_build_packages: {e}", file=sys.stderr)
        return 1
    print(f"check_build_packages: ok, the Dockerfile's build stage installs the {len(listed)} packages of "
          f"{args.packages.name} ({' '.join(listed)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())

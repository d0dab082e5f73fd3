#!/usr/bin/env python3
"""Checks that AVX-512 instructions appear only where the CPU check allows them.

The binary is built for the AVX2 class, except the kernel modules QuantKernelsAVX512 and
QuantKernelsVNNI, which run only when `KernelPath` found the CPU flags for them. An AVX-512
instruction anywhere else (inlined across modules, say) would stop the binary with SIGILL on an
AVX2 host. This disassembles the binary (objdump) and lists every function that uses a zmm or mask
register, or an instruction that exists only in AVX-512, outside those modules and outside
libraries that choose their own code at run time (BoringSSL's `*_avx512` routines).

Usage: python3 scripts/check_kernel_isolation.py [.build/release/tandem]
"""
import re
import subprocess
import sys

ALLOWED = re.compile(r"^\$s(18QuantKernelsAVX512|16QuantKernelsVNNI)|^CCryptoBoringSSL_.*avx512")
AVX512 = re.compile(
    r"%zmm|%k[0-7]\b|\{%k|\b(vpternlog|vpmov(?:[su]s)?(?:qb|qw|qd|db|dw|wb)\b|vpro[lr]|vperm[it]2|vcompress|vexpand"
    r"|vpconflict|vplzcnt|vrange|vfixupimm|vgetexp|vgetmant|vrndscale|vscalef|vreduce|vpmullq|vcvt[a-z]*qq|vcvtu"
    r"|valign[dq]|vshuf[fi](?:32x4|64x2)|vextract[fi](?:32x4|32x8|64x2|64x4)|vinsert[fi](?:32x4|32x8|64x2|64x4)"
    r"|vbroadcast[fi](?:32x2|32x4|32x8|64x2|64x4)|vpabsq|vp(?:max|min)[su]q|vpsraq|vpsravq|vpdpwssd|vpdpbusd)")


def main():
    binary = sys.argv[1] if len(sys.argv) > 1 else ".build/release/tandem"
    listing = subprocess.run(["objdump", "-d", "--no-show-raw-insn", binary], capture_output=True, text=True,
                             check=True).stdout
    function, offenders, allowed_seen = "?", {}, 0
    for line in listing.splitlines():
        header = re.match(r"^[0-9a-f]+ <(.*)>:$", line)
        if header:
            function = header.group(1)
            continue
        if "\t" not in line or not AVX512.search(line.split("\t", 1)[1]):
            continue
        if ALLOWED.search(function):
            allowed_seen += 1
        else:
            offenders.setdefault(function, line.strip())
    if offenders:
        print(f"{len(offenders)} function(s) outside the AVX-512 kernel modules use AVX-512 instructions:")
        for name, example in sorted(offenders.items())[:40]:
            print(f"  {name}: {example}")
        return 1
    if allowed_seen == 0:
        print("no AVX-512 instruction found even in the AVX-512 kernel modules: the check is not seeing them")
        return 1
    print(f"AVX-512 instructions only in the kernel modules chosen at run time ({allowed_seen} of them)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

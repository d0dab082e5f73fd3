#!/usr/bin/env python3
"""Checks that AVX-512 and AVX-VNNI instructions appear only where the CPU check allows them.

The binary is built for the AVX2 class, except the kernel modules QuantKernelsAVX512 and
QuantKernelsVNNI (AVX-512) and QuantKernelsAVXVNNI (AVX2 + AVX-VNNI), which run only when
`KernelPath` found the CPU flags for them. Such an instruction anywhere else (inlined across
modules, say) would stop the binary with SIGILL on a CPU without it. This disassembles the binary
(objdump) and lists every function that uses a zmm or mask register, or an instruction that exists
only in AVX-512, outside the AVX-512 modules and outside libraries that choose their own code at
run time (BoringSSL's `*_avx512` routines); and every function with a VEX-encoded `vpdpwssd` /
`vpdpbusd` (AVX-VNNI) outside the AVX-VNNI module.

Usage: python3 scripts/check_kernel_isolation.py [.build/release/tandem]
"""
import re
import subprocess
import sys

AVX512_ALLOWED = re.compile(r"^\$s(18QuantKernelsAVX512|16QuantKernelsVNNI)|^CCryptoBoringSSL_.*avx512")
AVX512 = re.compile(
    r"%zmm|%k[0-7]\b|\{%k|\b(vpternlog|vpmov(?:[su]s)?(?:qb|qw|qd|db|dw|wb)\b|vpro[lr]|vperm[it]2|vcompress|vexpand"
    r"|vpconflict|vplzcnt|vrange|vfixupimm|vgetexp|vgetmant|vrndscale|vscalef|vreduce|vpmullq|vcvt[a-z]*qq|vcvtu"
    r"|valign[dq]|vshuf[fi](?:32x4|64x2)|vextract[fi](?:32x4|32x8|64x2|64x4)|vinsert[fi](?:32x4|32x8|64x2|64x4)"
    r"|vbroadcast[fi](?:32x2|32x4|32x8|64x2|64x4)|vpabsq|vp(?:max|min)[su]q|vpsraq|vpsravq|(?<!\{vex\} )vpdpwssd"
    r"|(?<!\{vex\} )vpdpbusd)")
AVX_VNNI_ALLOWED = re.compile(r"^\$s19QuantKernelsAVXVNNI")
AVX_VNNI = re.compile(r"\{vex\}\s*vpdp(?:wssd|busd)")
RULES = [("AVX-512", AVX512, AVX512_ALLOWED), ("AVX-VNNI", AVX_VNNI, AVX_VNNI_ALLOWED)]


def main():
    binary = sys.argv[1] if len(sys.argv) > 1 else ".build/release/tandem"
    listing = subprocess.run(["objdump", "-d", "--no-show-raw-insn", binary], capture_output=True, text=True,
                             check=True).stdout
    function = "?"
    offenders = {name: {} for name, _, _ in RULES}
    allowed_seen = {name: 0 for name, _, _ in RULES}
    for line in listing.splitlines():
        header = re.match(r"^[0-9a-f]+ <(.*)>:$", line)
        if header:
            function = header.group(1)
            continue
        if "\t" not in line:
            continue
        instruction = line.split("\t", 1)[1]
        for name, pattern, allowed in RULES:
            if not pattern.search(instruction):
                continue
            if allowed.search(function):
                allowed_seen[name] += 1
            else:
                offenders[name].setdefault(function, line.strip())
    failed = False
    for name, _, _ in RULES:
        if offenders[name]:
            failed = True
            print(f"{len(offenders[name])} function(s) outside the {name} kernel modules use {name} instructions:")
            for function, example in sorted(offenders[name].items())[:40]:
                print(f"  {function}: {example}")
        elif allowed_seen[name] == 0:
            failed = True
            print(f"no {name} instruction found even in the {name} kernel modules: the check is not seeing them")
        else:
            print(f"{name} instructions only in the kernel modules chosen at run time ({allowed_seen[name]} of them)")
    return 1 if failed else 0

if __name__ == "__main__":
    sys.exit(main())

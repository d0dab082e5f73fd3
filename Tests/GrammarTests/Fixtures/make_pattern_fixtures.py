"""Golden verdicts for PatternAutomaton: Python's re module decides whether each text matches each
pattern under JSON Schema semantics, re.search (a match anywhere unless the pattern anchors it), with
re.ASCII because ECMA-262's \\d, \\w and \\s are ASCII. Texts holding '"', '\\' or a control character
are kept: the Swift test skips them, since a pattern-constrained JSON string can never hold them.
Escaped surrogate pairs (\ud83d\ude00) are left out: ECMA-262 joins them into one character, Python
does not, so the Swift test checks them itself.

Before writing, the format patterns are checked against the standard library's own parsers
(datetime, ipaddress, uuid), so a wrong format pattern fails here rather than in generated output.

Run: python3 make_pattern_fixtures.py > pattern_cases.json
"""
import datetime
import ipaddress
import itertools
import json
import re
import sys
import uuid

DATE = (r"(?:000[1-9]|00[1-9]\d|0[1-9]\d{2}|[1-9]\d{3})-(?:(?:0[1-9]|1[0-2])-(?:0[1-9]|1\d|2[0-8])|(?:0[13-9]|1[0-2])-(?:29|30)"
        r"|(?:0[13578]|1[02])-31)")
TIME = r"(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d(?:\.\d{1,6})?(?:Z|[+-](?:[01]\d|2[0-3]):[0-5]\d)"
FORMATS = {
    "date": f"^{DATE}$",
    "time": f"^{TIME}$",
    "date-time": f"^{DATE}T{TIME}$",
    "uuid": r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$",
    "email": r"^[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63}){1,4}$",
    "ipv4": r"^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$",
}

COMMON = ["", "a", "abc", "ABC", "123", "a1_", "x y", "é", "😀", "€5", "a\"b", "a\\b", "a\nb", "--", "ab.cd"]

# Each pattern with texts chosen to sit on both sides of its boundaries; COMMON is added to all.
CASES = [
    (FORMATS["date"], ["2024-01-31", "2024-02-28", "2024-02-29", "2023-02-30", "2024-04-31", "2024-04-30",
                       "2024-13-01", "2024-00-10", "2024-12-00", "999-01-01", "2024-1-01", "2024-01-01T",
                       "x2024-01-01"]),
    (FORMATS["time"], ["12:34:56Z", "23:59:59+05:30", "24:00:00Z", "12:60:00Z", "12:34:56.123456-01:00",
                       "12:34:56.1234567Z", "12:34:56", "12:34:56.Z", "00:00:00-23:59", "1:02:03Z"]),
    (FORMATS["date-time"], ["2024-06-30T12:00:00Z", "2024-06-31T12:00:00Z", "2024-06-30 12:00:00Z",
                            "2024-06-30T12:00:00.5+01:00", "2024-06-30T12:00Z"]),
    (FORMATS["uuid"], ["123e4567-e89b-12d3-a456-426614174000", "123E4567-E89B-12D3-A456-426614174000",
                       "123e4567e89b12d3a456426614174000", "123e4567-e89b-12d3-a456-42661417400",
                       "123e4567-e89b-12d3-a456-4266141740000", "g23e4567-e89b-12d3-a456-426614174000"]),
    (FORMATS["email"], ["a@b.co", "first.last+tag@example.org", "a@b", "@b.co", "a@.co", "a@b.c.d.e.f",
                        "a@b.c.d.e", "a b@c.de", "é@b.co", "x" * 64 + "@b.co", "x" * 65 + "@b.co"]),
    (FORMATS["ipv4"], ["0.0.0.0", "255.255.255.255", "256.1.1.1", "1.2.3", "01.2.3.4", "1.2.3.4.5", "10.0.0.1",
                       "199.249.250.251", " 1.2.3.4"]),
    (r"^a$|^b$", ["a", "b", "ab", "ba", "c"]),
    (r"^ab|cd$", ["abx", "xcd", "xab", "cdx", "ab", "cd"]),
    (r"ab", ["xxaby", "ba", "a b"]),
    (r"^ab", ["abz", "zab"]),
    (r"ab$", ["zab", "abz"]),
    (r"^$", []),
    (r"^.$", ["€€", "\t"]),
    (r"^.{2,3}$", ["é😀", "abcd", "a😀c"]),
    (r"^[abc]+$", ["cab", "abd", "aaaa"]),
    (r"^[a-z0-9_]*$", ["abc_09", "abC", "_"]),
    (r"^[^abc]+$", ["xyz", "xaz", "é€😀", "d e"]),
    (r"^[^\d\s]$", ["7", " ", "x", "é"]),
    (r"^[\w.-]+$", ["a-b.c_d", "a b", "a/b"]),
    (r"^[é€a-c]$", ["é", "€", "b", "d", "e"]),
    (r"^[α-ω]+$", ["αβγ", "Ω", "abc"]),
    (r"^\d+(?:\.\d+)?$", ["12", "1.5", "1.", ".5", "1.2.3"]),
    (r"^-?(?:0|[1-9]\d*)$", ["0", "-0", "007", "-12", "12-"]),
    (r"^\D\W\S$", ["a!b", "1!b", "a b ", "ab!"]),
    (r"^(?:ab|cd)*$", ["abcd", "abc", "cdcdab", "ba"]),
    (r"^(a|b)?c+$", ["c", "acc", "bc", "abc", "a"]),
    (r"^a{3}$", ["aa", "aaa", "aaaa"]),
    (r"^a{2,}$", ["a", "aa", "aaaaaaa"]),
    (r"^(?:ab){1,3}$", ["ab", "abab", "ababab", "abababab"]),
    (r"^x{0,2}y$", ["y", "xy", "xxy", "xxxy"]),
    (r"^a+?b*?$", ["a", "abbb", "b"]),
    (r"^\.\-\/\(\)\[\]\{\}\*\+\?\|\^\$$", [".-/()[]{}*+?|^$", ".-/()[]{}*+?|^"]),
    (r"^\u00e9\u20ac$", ["é€", "e€"]),
    (r"^\x41\x7e$", ["A~", "a~"]),
    (r"^[\u0041-\u0043]+$", ["ABC", "ABD"]),
    (r"^café$", ["café", "cafe"]),
    (r"colou?r", ["my color", "colouur", "colour!"]),
    (r"\d{3}-\d{4}", ["call 555-1234 now", "55-1234", "5555-12345"]),
    (r"^[A-Z][a-z]+(?: [A-Z][a-z]+)*$", ["John Smith", "John smith", "J", "Ann Lee Ho"]),
    (r"^(?:[01]?\d|2[0-3])h$", ["7h", "23h", "24h", "007h"]),
    (r"^[+-]?\d+$", ["+5", "-5", "+-5", "5"]),
    (r"^[a\-z]+$", ["a-z", "b", "-"]),
    (r"^[-a]+$", ["-a-", "b"]),
    (r"^[a-]+$", ["a-", "b"]),
    (r"^[\]a]+$", ["]a", "b"]),
    (r"[^\x20-\x7e]", ["plain", "ünïcode", "tab\there"]),
    (r"^\s*$", [" ", "  x"]),
    (r"^((a|b)c){2}$", ["acbc", "acac", "abcc", "ac"]),
    (r"^(|a)b$", ["b", "ab", "aab"]),
    (r"^a]}$", ["a]}", "a]"]),
    (r".*", []),
]


def check_formats():
    date = re.compile(FORMATS["date"], re.ASCII)
    for y, m, d in itertools.product([0, 1, 1900, 1999, 2000, 2023, 2024], range(0, 14), range(0, 33)):
        text = f"{y:04d}-{m:02d}-{d:02d}"
        try:
            datetime.date.fromisoformat(text)
            real = True
        except ValueError:
            real = False
        assert not date.search(text) or real, text
        assert date.search(text) or not real or (m, d) == (2, 29), text
    time = re.compile(FORMATS["time"], re.ASCII)
    for h, mi, s in itertools.product(range(0, 26), [0, 7, 59, 60], [0, 59, 60]):
        for suffix in ["Z", ".5Z", "+01:00", "-23:59", ".123456+00:00"]:
            text = f"{h:02d}:{mi:02d}:{s:02d}{suffix}"
            real = h < 24 and mi < 60 and s < 60
            assert bool(time.search(text)) == real, text
            if real:
                datetime.datetime.fromisoformat("2000-01-01T" + text.replace("Z", "+00:00"))
    date_time = re.compile(FORMATS["date-time"], re.ASCII)
    assert date_time.search("2024-06-30T12:00:00.25Z") and not date_time.search("2024-06-30T12:00:00")
    ipv4 = re.compile(FORMATS["ipv4"], re.ASCII)
    for octet in [*range(0, 300), "00", "01", "001", "099"]:
        text = f"10.{octet}.0.1"
        try:
            ipaddress.IPv4Address(text)
            real = True
        except ValueError:
            real = False
        assert bool(ipv4.search(text)) == real, text
    uuid_pattern = re.compile(FORMATS["uuid"], re.ASCII)
    for i in range(200):
        assert uuid_pattern.search(str(uuid.UUID(int=i * 0x0123456789ABCDEF0123456789ABCDEF % (1 << 128))))
    email = re.compile(FORMATS["email"], re.ASCII)
    assert email.search("a.b-c+d@mail.example.co.uk") and not email.search("a@b@c.d")


def main():
    check_formats()
    cases, seen = [], set()
    for pattern, texts in CASES:
        compiled = re.compile(pattern, re.ASCII)
        for text in [*texts, *COMMON]:
            if (pattern, text) in seen:
                continue
            seen.add((pattern, text))
            cases.append({"pattern": pattern, "text": text, "matches": compiled.search(text) is not None})
    json.dump(cases, sys.stdout, ensure_ascii=False, indent=0)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()

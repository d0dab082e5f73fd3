"""Golden verdicts for JSONRecognizer: Python's json module (strict) decides whether each text is
exactly one JSON object. Cases are valid documents and mutations of them (cut, a byte inserted,
deleted or replaced), so most invalid ones fail late, deep inside the document.

Run: python3 make_json_fixtures.py > json_cases.json
"""
import json
import random

SEEDS = [
    '{}', '{"a":1}', '{"a": [1, 2.5, -3e+2, 0, -0.0, 1E5]}', '{"k": "v\\"x\\\\y\\u00e9\\n", "t": true}',
    '{"nested": {"deep": [[], [{}], {"x": null}]}, "f": false}', '{"unicode": "héllo → 世界 🙂"}',
    '{ "spaced" :\n\t[ 1 , 2 ] , "e" : {} }', '{"n": 12345678901234567890, "m": -0.5e-7}',
    '{"category": "billing", "priority": "high", "title": "Refund not received"}',
    '{"a":[true,false,null,"s",{"b":[]}]}',
]
CHARS = list('{}[]":,. -+eE0123456789tfnulrsaxy\\\n') + ['\u00e9', '\x01']


def verdict(text):
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        return False
    return isinstance(value, dict) and text == text.rstrip() and text == text.lstrip()


def mutations(rng, text):
    for _ in range(30):
        i = rng.randrange(len(text) + 1)
        kind = rng.choice(["cut", "insert", "delete", "replace"])
        if kind == "cut":
            yield text[:i]
        elif kind == "insert":
            yield text[:i] + rng.choice(CHARS) + text[i:]
        elif kind == "delete" and i < len(text):
            yield text[:i] + text[i + 1:]
        elif i < len(text):
            yield text[:i] + rng.choice(CHARS) + text[i + 1:]


def main():
    rng = random.Random(5)
    cases, seen = [], set()
    for seed in SEEDS:
        for text in [seed, *mutations(rng, seed)]:
            if text in seen or not text:
                continue
            seen.add(text)
            cases.append({"text": text, "valid": verdict(text)})
    print(json.dumps(cases, ensure_ascii=False, indent=0))


if __name__ == "__main__":
    main()

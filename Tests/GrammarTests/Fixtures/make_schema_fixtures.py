"""Golden verdicts for the JSON Schema grammar: the Python `jsonschema` package (Draft 2020-12 with its
FormatChecker) decides whether each text is an instance of each schema.

Schemas are real emitted ones (Pydantic v2 `model_json_schema()`, openai-python's
`to_strict_json_schema`), hand-written ones for keywords Pydantic does not emit (`type` lists, `allOf`,
old-style `definitions`, `oneOf`, mixed enums), and seeded random ones (`random_NN`, object roots).

Every text is compact JSON (no whitespace outside strings) with object keys in the schema's
`properties` order, then any additional properties, because that is the only order the grammar emits.
Valid texts come from a generator that walks the schema; invalid ones are mutations of valid values
(wrong type, missing required key, enum value off by one letter, bound off by one, too many or too few
items, string too long or short, extra key, bad date). `valid` is always jsonschema's verdict, and each
instance says in `why` what was done to it.

Kept out on purpose, because a grammar cannot enforce them and jsonschema would disagree with it:
`oneOf` values that match two branches (every `oneOf` here has disjoint branches), integral floats
such as `1.0` for `integer` (jsonschema accepts them), and day-of-month errors such as 2024-02-30
(only months 13/00, day 32/00 and bad times).

Run: pip install jsonschema pydantic openai && python3 make_schema_fixtures.py   (writes schema_cases.json)
"""
import copy
import json
import math
import random
import string
import sys
from datetime import date, datetime
from enum import Enum
from pathlib import Path
from typing import Annotated, Literal, Optional, Union
from uuid import UUID

import jsonschema
from openai.lib._pydantic import to_strict_json_schema
from pydantic import BaseModel, Field, TypeAdapter

OUT = Path(__file__).resolve().parent / "schema_cases.json"
VALID_PER_SCHEMA = 6
INVALID_PER_SCHEMA = 6
TEXT_CHARS = string.ascii_letters + string.digits + " "
WORDS = ("alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike november oscar papa "
         "quebec romeo sierra tango uniform victor whiskey xray yankee zulu name id count price tags owner "
         "status level score label note items meta kind size color").split()


def compact(value):
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


# ---------------------------------------------------------------------------------------------
# Schemas from Pydantic models
# ---------------------------------------------------------------------------------------------

class Ticket(BaseModel):
    category: Literal["hardware", "software", "network", "access", "billing"]
    priority: Literal["low", "medium", "high", "urgent"]
    summary: str = Field(max_length=80)


class Status(str, Enum):
    pending = "pending"
    shipped = "shipped"
    delivered = "delivered"
    cancelled = "cancelled"


class Customer(BaseModel):
    name: str = Field(min_length=1, max_length=24)
    age: Optional[int] = Field(default=None, ge=0, le=150)
    vip: bool = False


class Item(BaseModel):
    sku: str = Field(pattern=r"^[A-Z]{2,4}-[0-9]{3}$")
    quantity: int = Field(gt=0, lt=100)
    price: float = Field(ge=0, le=10000)


class Node(BaseModel):
    name: str = Field(max_length=12)
    children: list["Node"] = Field(default_factory=list, max_length=3)


class Order(BaseModel):
    id: UUID
    kind: Literal["order"]
    created_at: datetime
    ship_date: Optional[date] = None
    status: Status
    customer: Customer
    items: list[Item] = Field(min_length=1, max_length=4)
    discount: Optional[float] = Field(default=None, gt=0, lt=1)
    note: Optional[str] = Field(default=None, max_length=40)
    category_tree: Node


class Cat(BaseModel):
    type: Literal["cat"]
    meows: int = Field(ge=0, le=10)


class Dog(BaseModel):
    type: Literal["dog"]
    good: bool
    breed: str = Field(max_length=20)


class Pet(BaseModel):
    pet: Union[Cat, Dog]
    name: str = Field(max_length=16)


class TaggedPet(BaseModel):
    pet: Annotated[Union[Cat, Dog], Field(discriminator="type")]


class Containers(BaseModel):
    pair: tuple[int, str]
    counts: dict[str, int]
    labels: list[str] = Field(default_factory=list, max_length=3)


def pydantic_schemas():
    return [
        ("ticket_triage", to_strict_json_schema(Ticket)),
        ("pydantic_order", Order.model_json_schema()),
        ("pydantic_order_strict", to_strict_json_schema(Order)),
        ("pydantic_tree", to_strict_json_schema(Node)),
        ("pydantic_pet_union_strict", to_strict_json_schema(Pet)),
        ("pydantic_pet_discriminated_oneof", TaggedPet.model_json_schema()),
        ("pydantic_tuple_and_dict", Containers.model_json_schema()),
        ("pydantic_tuple_root", TypeAdapter(tuple[int, str]).json_schema()),
    ]


# ---------------------------------------------------------------------------------------------
# Hand-written schemas
# ---------------------------------------------------------------------------------------------

def obj(properties, required=None, closed=True, **extra):
    schema = {"type": "object", "properties": properties,
              "required": list(properties) if required is None else required}
    if closed:
        schema["additionalProperties"] = False
    schema.update(extra)
    return schema


def enum_words(rng, count):
    """Distinct lowercase words; about a third extend an earlier word, so prefixes are shared."""
    words, seen = [], set()
    while len(words) < count:
        if words and rng.random() < 0.3:
            word = rng.choice(words) + "".join(rng.choice(string.ascii_lowercase) for _ in range(rng.randint(1, 3)))
        else:
            word = "".join(rng.choice(string.ascii_lowercase) for _ in range(rng.randint(3, 9)))
        if word not in seen:
            seen.add(word)
            words.append(word)
    return words


def handwritten_schemas():
    address = obj({"street": {"type": "string", "maxLength": 30}, "zip": {"type": "string", "pattern": "^[0-9]{5}$"}})
    point = obj({"x": {"type": "integer", "minimum": -10, "maximum": 10}, "y": {"type": "number"}})
    circle = obj({"kind": {"const": "circle"}, "r": {"type": "number", "exclusiveMinimum": 0, "maximum": 100}})
    square = obj({"kind": {"const": "square"}, "side": {"type": "integer", "minimum": 1, "maximum": 50}})
    return [
        ("enum_500", obj({"label": {"type": "string", "enum": enum_words(random.Random(500), 500)},
                          "confidence": {"type": "number", "minimum": 0, "maximum": 1}}, required=["label"])),
        ("type_list_nullable", obj({
            "nickname": {"type": ["string", "null"], "maxLength": 10},
            "age": {"type": ["integer", "null"], "minimum": 0, "maximum": 120},
            "score": {"type": ["number", "integer", "null"]}}, required=["nickname", "age"])),
        ("allof_single_ref", {"$defs": {"Address": address}, **obj({
            "home": {"allOf": [{"$ref": "#/$defs/Address"}], "description": "where the customer lives"},
            "work": {"anyOf": [{"$ref": "#/$defs/Address"}, {"type": "null"}]}})}),
        ("definitions_old_style", {"definitions": {"Point": point}, **obj({
            "start": {"$ref": "#/definitions/Point"}, "end": {"$ref": "#/definitions/Point"},
            "path": {"type": "array", "items": {"$ref": "#/definitions/Point"}, "maxItems": 3}},
            required=["start", "end"])}),
        ("oneof_disjoint", obj({
            "shape": {"oneOf": [circle, square]},
            "id": {"oneOf": [{"type": "string", "maxLength": 6}, {"type": "integer", "minimum": 0}]}})),
        ("mixed_enum_and_const", obj({
            "v": {"enum": ["red", 1, None, True, "green"]}, "c": {"const": "fixed"}, "n": {"const": 42},
            "flag": {"type": "boolean"}, "nothing": {"type": "null"}}, required=["v", "c", "n"])),
        ("open_object", {"type": "object", "properties": {"a": {"type": "integer"}, "b": {"type": "string",
                                                                                        "maxLength": 8}},
                         "required": ["a"]}),
        ("formats", obj({"when": {"type": "string", "format": "date-time"}, "day": {"type": "string", "format": "date"},
                         "ref": {"type": "string", "format": "uuid"},
                         "days": {"type": "array", "items": {"type": "string", "format": "date"},
                                  "minItems": 1, "maxItems": 3}})),
        ("string_lengths", obj({"code": {"type": "string", "minLength": 3, "maxLength": 3},
                                "word": {"type": "string", "minLength": 2, "maxLength": 6, "pattern": "^[a-z]+$"},
                                "empty_ok": {"type": "string", "maxLength": 0}})),
    ]


# ---------------------------------------------------------------------------------------------
# Seeded random schemas
# ---------------------------------------------------------------------------------------------

def random_string_schema(rng):
    choice = rng.randrange(5)
    if choice == 0:
        return {"type": "string", "enum": rng.sample(WORDS, rng.randint(2, 6))}
    if choice == 1:
        return {"type": "string", "maxLength": rng.randint(1, 20)}
    if choice == 2:
        low = rng.randint(0, 4)
        return {"type": "string", "minLength": low, "maxLength": low + rng.randint(0, 8)}
    if choice == 3:
        return {"type": "string", "format": rng.choice(["date", "date-time", "uuid"])}
    return {"type": "string"}


def random_integer_schema(rng):
    schema = {"type": "integer"}
    low = rng.randint(-50, 50)
    high = low + rng.randint(2, 200)
    if rng.random() < 0.7:
        schema["exclusiveMinimum" if rng.random() < 0.3 else "minimum"] = low
    if rng.random() < 0.7:
        schema["exclusiveMaximum" if rng.random() < 0.3 else "maximum"] = high
    return schema


def random_number_schema(rng):
    schema = {"type": "number"}
    if rng.random() < 0.6:
        low = rng.choice([0, -1, 0.5, -100, 10])
        schema["minimum"] = low
        if rng.random() < 0.7:
            schema["maximum"] = low + rng.choice([1, 2.5, 100, 1000])
    return schema


def random_schema(rng, depth):
    kinds = ["string", "string", "integer", "number", "boolean", "null", "anyOf"]
    if depth < 4:
        kinds += ["object", "object", "array", "array"]
    kind = rng.choice(kinds)
    if kind == "object":
        return random_object_schema(rng, depth + 1)
    if kind == "array":
        low = rng.randint(0, 2)
        schema = {"type": "array", "items": random_schema(rng, depth + 1), "minItems": low}
        if rng.random() < 0.8:
            schema["maxItems"] = low + rng.randint(0, 4)
        return schema
    if kind == "anyOf":
        makers = {"string": random_string_schema, "integer": random_integer_schema,
                  "number": lambda r: {"type": "number"}, "boolean": lambda r: {"type": "boolean"},
                  "null": lambda r: {"type": "null"}}
        if depth < 4:
            makers["object"] = lambda r: random_object_schema(r, depth + 1)
        # integer and number overlap, so at most one of them
        names = [n for n in makers if n != rng.choice(["integer", "number"])]
        return {"anyOf": [makers[n](rng) for n in rng.sample(names, rng.randint(2, 3))]}
    if kind == "string":
        return random_string_schema(rng)
    if kind == "integer":
        return random_integer_schema(rng)
    if kind == "number":
        return random_number_schema(rng)
    return {"type": kind}


def random_object_schema(rng, depth):
    names = rng.sample(WORDS, rng.randint(1, 5))
    properties = {n: random_schema(rng, depth) for n in names}
    required = [n for n in names if rng.random() < 0.6]
    return obj(properties, required=required)


def random_schemas(count=30):
    rng = random.Random(1234)
    return [(f"random_{i:02d}", random_object_schema(rng, 1)) for i in range(count)]


# ---------------------------------------------------------------------------------------------
# A generator for the small regex subset used in `pattern` above
# ---------------------------------------------------------------------------------------------

def regex_sample(rng, pattern):
    """A string that fully matches `pattern`: literals, [classes], (groups|alternatives), \\d and the
    quantifiers ? * + {n} {n,m}, between the anchors ^ and $."""
    text = pattern.removeprefix("^").removesuffix("$")
    out, _ = _regex_alternatives(rng, text, 0)
    return out


def _regex_alternatives(rng, text, i):
    branches, current = [], []
    while i < len(text) and text[i] != ")":
        if text[i] == "|":
            branches.append(current)
            current, i = [], i + 1
            continue
        atom, i = _regex_atom(text, i)
        low, high, i = _regex_quantifier(text, i)
        current.append((atom, low, high))
    branches.append(current)
    chosen = rng.choice(branches)
    return "".join(_regex_emit(rng, atom) for atom, low, high in chosen for _ in range(rng.randint(low, high))), i


def _regex_atom(text, i):
    c = text[i]
    if c == "[":
        end = text.index("]", i)
        body, chars, j = text[i + 1:end], [], 0
        while j < len(body):
            if j + 2 < len(body) and body[j + 1] == "-":
                chars += [chr(k) for k in range(ord(body[j]), ord(body[j + 2]) + 1)]
                j += 3
            else:
                chars.append(body[j])
                j += 1
        return ("class", chars), end + 1
    if c == "(":
        depth, j = 1, i + 1
        while depth:
            depth += {"(": 1, ")": -1}.get(text[j], 0)
            j += 1
        return ("group", text[i + 1:j - 1]), j
    if c == "\\":
        return ("class", list(string.digits)) if text[i + 1] == "d" else ("class", [text[i + 1]]), i + 2
    return ("class", [c]), i + 1


def _regex_quantifier(text, i):
    if i < len(text) and text[i] in "?*+":
        return {"?": (0, 1), "*": (0, 4), "+": (1, 6)}[text[i]] + (i + 1,)
    if i < len(text) and text[i] == "{":
        end = text.index("}", i)
        parts = text[i + 1:end].split(",")
        low = int(parts[0])
        high = low if len(parts) == 1 else (int(parts[1]) if parts[1] else low + 3)
        return low, high, end + 1
    return 1, 1, i


def _regex_emit(rng, atom):
    kind, payload = atom
    if kind == "class":
        return rng.choice(payload)
    out, _ = _regex_alternatives(rng, payload, 0)
    return out


# ---------------------------------------------------------------------------------------------
# Valid instances: a walk over the schema
# ---------------------------------------------------------------------------------------------

class InstanceGenerator:
    """`generate()` returns (value, trace): trace lists (path, schema node) for every generated value, the
    node resolved ($ref followed, allOf merged, the anyOf/oneOf branch taken, one type of a type list)."""

    DEEP = 6  # below this depth, recursion stops: fewest items, no optional keys, leaf branches first

    def __init__(self, root, rng):
        self.root = root
        self.rng = rng

    def resolve(self, node):
        node = dict(node)
        while "$ref" in node:
            target = self.root
            for part in node.pop("$ref").removeprefix("#/").split("/"):
                if part:
                    target = target[part]
            node = {**target, **node}
        if "allOf" in node:
            merged = {k: v for k, v in node.items() if k != "allOf"}
            for member in node["allOf"]:
                merged.update(self.resolve(member))
            node = merged
        return node

    def is_leafy(self, node):
        node = self.resolve(node)
        return node.get("type") not in ("object", "array") and "anyOf" not in node and "oneOf" not in node

    def generate(self):
        trace = []
        return self.value(self.root, (), 0, trace), trace

    def value(self, node, path, depth, trace):
        node = self.resolve(node)
        branches = node.get("anyOf") or node.get("oneOf")
        if branches:
            if depth >= self.DEEP and any(self.is_leafy(b) for b in branches):
                branches = [b for b in branches if self.is_leafy(b)]
            rest = {k: v for k, v in node.items() if k not in ("anyOf", "oneOf", "discriminator")}
            return self.value({**rest, **self.resolve(self.rng.choice(branches))}, path, depth, trace)
        kind = node.get("type")
        if isinstance(kind, list):
            node = {**node, "type": self.rng.choice(kind)}
        trace.append((path, node))
        if "const" in node:
            return node["const"]
        if "enum" in node:
            return self.rng.choice(node["enum"])
        return getattr(self, "make_" + node.get("type", "object"))(node, path, depth, trace)

    def make_object(self, node, path, depth, trace):
        out = {}
        required = set(node.get("required", []))
        for key, sub in node.get("properties", {}).items():
            if key in required or (depth < self.DEEP and self.rng.random() < 0.6):
                out[key] = self.value(sub, path + (key,), depth + 1, trace)
        extra = node.get("additionalProperties")
        if isinstance(extra, dict):
            for _ in range(self.rng.randint(0, 3)):
                key = self.rng.choice(WORDS) + str(self.rng.randint(0, 99))
                if key not in out and key not in node.get("properties", {}):
                    out[key] = self.value(extra, path + (key,), depth + 1, trace)
        return out

    def make_array(self, node, path, depth, trace):
        prefix = node.get("prefixItems", [])
        low = max(node.get("minItems", 0), len(prefix) if node.get("items") is False else 0)
        high = node.get("maxItems", max(low, len(prefix)) + 3)
        count = low if depth >= self.DEEP else self.rng.randint(low, high)
        out = []
        for i in range(count):
            sub = prefix[i] if i < len(prefix) else node.get("items", {"type": "integer"})
            out.append(self.value(sub, path + (i,), depth + 1, trace))
        return out

    def make_string(self, node, path, depth, trace):
        rng = self.rng
        fmt = node.get("format")
        if fmt == "date":
            return f"{rng.randint(1970, 2099):04d}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
        if fmt == "date-time":
            day = self.make_string({"format": "date"}, path, depth, trace)
            fraction = rng.choice(["", "." + str(rng.randint(0, 999999))])
            zone = rng.choice(["Z", f"+{rng.randint(0, 14):02d}:{rng.choice([0, 30]):02d}", "-05:00"])
            return f"{day}T{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}{fraction}{zone}"
        if fmt == "uuid":
            return str(UUID(int=rng.getrandbits(128)))
        low = node.get("minLength", 0)
        high = node.get("maxLength", low + 12)
        if "pattern" in node:
            samples = (regex_sample(rng, node["pattern"]) for _ in range(100))
            return next(s for s in samples if low <= len(s) <= high)
        return "".join(rng.choice(TEXT_CHARS) for _ in range(rng.randint(low, min(high, low + 12))))

    def bounds(self, node, step, span):
        low = node.get("minimum", node.get("exclusiveMinimum", None))
        high = node.get("maximum", node.get("exclusiveMaximum", None))
        low = low + step if "exclusiveMinimum" in node else low
        high = high - step if "exclusiveMaximum" in node else high
        if low is None and high is None:
            return -span, span
        if low is None:
            low = high - span
        if high is None:
            high = low + span
        return low, high

    def make_integer(self, node, path, depth, trace):
        low, high = self.bounds(node, 1, 1000)
        inside = self.rng.randint(low, high)
        bounded = any(k in node for k in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"))
        return self.rng.choice([low, high, inside, inside]) if bounded else inside

    def make_number(self, node, path, depth, trace):
        low, high = self.bounds(node, 0.01, 1000)
        if self.rng.random() < 0.3 and math.ceil(low) <= math.floor(high):
            return self.rng.randint(math.ceil(low), math.floor(high))  # an integer is a number too
        return max(low, min(high, round(self.rng.uniform(low, high), 2)))

    def make_boolean(self, node, path, depth, trace):
        return self.rng.random() < 0.5

    def make_null(self, node, path, depth, trace):
        return None


# ---------------------------------------------------------------------------------------------
# Invalid instances: mutations of valid values
# ---------------------------------------------------------------------------------------------

def replace_at(value, path, new):
    if not path:
        return new
    value = copy.deepcopy(value)
    parent = value
    for part in path[:-1]:
        parent = parent[part]
    parent[path[-1]] = new
    return value


def get_at(value, path):
    for part in path:
        value = value[part]
    return value


def off_by_one_letter(rng, word, taken):
    for _ in range(20):
        i = rng.randrange(len(word) + 1)
        edit = rng.choice(["swap", "drop", "add"]) if word else "add"
        if edit == "swap" and i < len(word):
            candidate = word[:i] + rng.choice(string.ascii_lowercase) + word[i + 1:]
        elif edit == "drop" and i < len(word):
            candidate = word[:i] + word[i + 1:]
        else:
            candidate = word[:i] + rng.choice(string.ascii_lowercase) + word[i:]
        if candidate not in taken:
            return candidate
    return word + "x"


BAD_DATES = ["2024-13-01", "2024-00-10", "2024-05-32", "2024-05-00", "2024-5-06", "20240506", "2024/05/06"]
BAD_TIMES = ["T24:00:00Z", "T12:60:00Z", "T12:00:60Z", "T12:00:00", " 12:00:00Z", "T12:00:00+25:00"]


def mutations(rng, value, path, node, generator):
    """(why, mutated value) pairs for one node of a valid value; `generator` makes new array items."""
    here = get_at(value, path)
    kind = node.get("type")
    wrong = {"string": 7, "integer": "7", "number": "1.5", "boolean": "true", "null": 0, "object": [], "array": {}}
    out = [(f"wrong type at {path_text(path)}", replace_at(value, path, wrong.get(kind, "x")))]
    if "enum" in node and isinstance(here, str):
        words = [w for w in node["enum"] if isinstance(w, str)]
        out.append((f"enum value off by one letter at {path_text(path)}",
                    replace_at(value, path, off_by_one_letter(rng, here, set(words)))))
    if "const" in node and isinstance(here, str):
        out.append((f"const off by one letter at {path_text(path)}",
                    replace_at(value, path, off_by_one_letter(rng, here, {here}))))
    if kind == "integer" and "enum" not in node:
        out.append((f"fraction for an integer at {path_text(path)}", replace_at(value, path, here + 0.5)))
        for key, delta in (("minimum", -1), ("maximum", 1), ("exclusiveMinimum", 0), ("exclusiveMaximum", 0)):
            if key in node:
                out.append((f"{key} off by one at {path_text(path)}", replace_at(value, path, node[key] + delta)))
    if kind == "number":
        for key, delta in (("minimum", -0.5), ("maximum", 0.5), ("exclusiveMinimum", 0), ("exclusiveMaximum", 0)):
            if key in node:
                out.append((f"{key} broken at {path_text(path)}", replace_at(value, path, node[key] + delta)))
    if kind == "string" and isinstance(here, str) and "enum" not in node and "const" not in node:
        if "maxLength" in node:
            longer = (here + "".join(rng.choice(string.ascii_lowercase) for _ in range(node["maxLength"] + 1)))
            out.append((f"string too long at {path_text(path)}",
                        replace_at(value, path, longer[:node["maxLength"] + 1])))
        if node.get("minLength", 0) > 0:
            out.append((f"string too short at {path_text(path)}",
                        replace_at(value, path, here[:node["minLength"] - 1])))
        if "pattern" in node:
            out.append((f"pattern broken at {path_text(path)}", replace_at(value, path, here + "x")))
            out.append((f"pattern broken at {path_text(path)}", replace_at(value, path, here[:-1])))
        fmt = node.get("format")
        if fmt == "date":
            out.append((f"bad date at {path_text(path)}", replace_at(value, path, rng.choice(BAD_DATES))))
        if fmt == "date-time":
            bad = rng.choice([rng.choice(BAD_DATES) + here[10:], here[:10] + rng.choice(BAD_TIMES)])
            out.append((f"bad date-time at {path_text(path)}", replace_at(value, path, bad)))
        if fmt == "uuid":
            bad = rng.choice([here.replace("-", "", 1), here[:-1] + "g", here[:-1], "{" + here + "}"])
            out.append((f"bad uuid at {path_text(path)}", replace_at(value, path, bad)))
    if kind == "array" and isinstance(here, list):
        if "maxItems" in node:
            item = node.get("items", {})
            missing = node["maxItems"] + 1 - len(here)
            longer = here + [generator.value(item, (), generator.DEEP, []) for _ in range(missing)]
            out.append((f"too many items at {path_text(path)}", replace_at(value, path, longer)))
        if node.get("minItems", 0) > 0:
            out.append((f"too few items at {path_text(path)}", replace_at(value, path, here[:node["minItems"] - 1])))
    if kind in ("object", None) and isinstance(here, dict):
        for key in node.get("required", []):
            if key in here:
                fewer = {k: v for k, v in here.items() if k != key}
                out.append((f"missing required key at {path_text(path + (key,))}", replace_at(value, path, fewer)))
        extra = node.get("additionalProperties", True)
        key = "extra" if "extra" not in node.get("properties", {}) else "extra_key"
        if key not in here:
            if isinstance(extra, dict):
                why, added = "extra key the additionalProperties schema rejects", {**here, key: [None]}
            else:
                why, added = "extra key at the end" + ("" if extra is False else " of an open object"), {**here, key: 1}
            out.append((f"{why} at {path_text(path)}", replace_at(value, path, added)))
    return out


def path_text(path):
    return "#" + "".join(f"/{p}" for p in path)


# ---------------------------------------------------------------------------------------------
# Putting it together
# ---------------------------------------------------------------------------------------------

def cases_for(name, schema, rng):
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())
    generator = InstanceGenerator(schema, rng)
    valid, invalid, seen, candidates = [], [], set(), []
    for _ in range(200):
        if len(valid) >= VALID_PER_SCHEMA:
            break
        value, trace = generator.generate()
        text = compact(value)
        assert validator.is_valid(value), f"{name}: generated value is invalid: {text}"
        candidates += [m for path, node in trace for m in mutations(rng, value, path, node, generator)]
        if text not in seen:
            seen.add(text)
            valid.append({"text": text, "valid": True, "why": "generated"})
    rng.shuffle(candidates)
    by_kind = {}
    for why, mutated in candidates:
        by_kind.setdefault(why.split(" at ")[0], []).append((why, mutated))
    # round-robin over mutation kinds, so one kind does not crowd out the others
    while len(invalid) < INVALID_PER_SCHEMA and any(by_kind.values()):
        for kind in sorted(by_kind):
            if not by_kind[kind] or len(invalid) >= INVALID_PER_SCHEMA:
                continue
            why, mutated = by_kind[kind].pop()
            text = compact(mutated)
            if text in seen:
                continue
            seen.add(text)
            verdict = validator.is_valid(mutated)
            if verdict and "open object" not in why:
                why += " (still valid)"
            (valid if verdict else invalid).append({"text": text, "valid": verdict, "why": why})
    assert len(invalid) >= 3, f"{name}: only {len(invalid)} invalid instances"
    return {"name": name, "schema": schema, "instances": valid + invalid}


def main():
    rng = random.Random(42)
    schemas = pydantic_schemas() + handwritten_schemas() + random_schemas()
    cases = [cases_for(name, schema, rng) for name, schema in schemas]
    OUT.write_text(json.dumps(cases, ensure_ascii=False, indent=1) + "\n")
    instances = [i for c in cases for i in c["instances"]]
    good = sum(i["valid"] for i in instances)
    print(f"{OUT.name}: {len(cases)} schemas, {len(instances)} instances ({good} valid, "
          f"{len(instances) - good} invalid), {OUT.stat().st_size} bytes", file=sys.stderr)


if __name__ == "__main__":
    main()

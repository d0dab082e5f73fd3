#!/usr/bin/env python3
"""Compose the ticket-tools training set and eval suite (deterministic; no model needed).

The adapter learns to answer a support ticket with a call of the function
    open_ticket(category, priority, title)
in Tandem's tool envelope, and anything else (small talk, a general question) with an answer in
words. Every training prompt is exactly what `tandem serve` feeds the model for a chat request with
`tools=[OPEN_TICKET]` and `tool_choice="auto"` (Sources/Server/ToolUse.swift): the tools system turn
(instructions, one compact JSON line per function, the envelope), after the role's system prompt
when there is one, folded into the user turn. The target is the envelope exactly as Tandem's grammar
writes it: compact JSON, properties in schema order,
    {"tool_calls":[{"name":"open_ticket","arguments":{"category":"…","priority":"…","title":"…"}}]}
or {"response":"…"}.

Tickets come from the ticket-triage generator (adapters/ticket-triage/data/make_data.py: its
templates, fillers, openers and closers, imported, not copied): training from its TRAIN templates
and fillers, each with a title written here; the eval suite from its HELD templates and fillers
(34 of its 40), with another seed. Non-tickets (about 15% of training) are written here, the
held-out ones differ from the training ones. No eval message occurs in training.

Each training example draws (seeded) whether it carries the default role's system prompt
(SYSTEM, roles.yaml; 85%) before the tools turn, or only the tools turn.

The 216 examples of ticket-triage's own data/train.jsonl (same TRAIN templates, no tools turn, the
answer `{"category": ..., "priority": ...}` or that plus a reason) are mixed in: they are short
(62 tokens against 285) and put the category and priority in almost every loss token, where in a
call the title outweighs them. Without them (254 tool examples only) the adapter got priority right
on only 26 of 40 of its own training tickets.

Run from the repo root: python3 adapters/ticket-tools/data/make_data.py
Writes data/train.jsonl and eval.jsonl (the suite for `tandem eval` and quick_eval.py).
"""

import importlib.util
import json
import os
import random

HERE = os.path.dirname(os.path.abspath(__file__))
ADAPTER = os.path.dirname(HERE)
REPO = os.path.dirname(os.path.dirname(ADAPTER))

_spec = importlib.util.spec_from_file_location(
    "triage_data", os.path.join(REPO, "adapters", "ticket-triage", "data", "make_data.py"))
triage = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(triage)

SYSTEM = "You file support tickets with the open_ticket function."

CATEGORIES = ["billing", "technical", "account", "shipping", "other"]
PRIORITIES = ["low", "medium", "high"]

# The tool in OpenAI's format. Key order matters: Tandem renders it (and the grammar writes the
# arguments) in the order the client sends.
OPEN_TICKET = {
    "type": "function",
    "function": {
        "name": "open_ticket",
        "description": "Open a support ticket for a customer's problem, request or question about our service.",
        "parameters": {
            "type": "object",
            "properties": {
                "category": {"type": "string", "enum": CATEGORIES,
                             "description": "What the ticket is about."},
                "priority": {"type": "string", "enum": PRIORITIES,
                             "description": "high: blocked, harmed, security risk or deadline; medium: "
                                            "something is wrong; low: a question or suggestion."},
                "title": {"type": "string", "maxLength": 60,
                          "description": "A short summary of the ticket."},
            },
            "required": ["category", "priority", "title"],
            "additionalProperties": False,
        },
    },
}


def compact(value):
    """JSONTree.compactText: no spaces, keys in order, shortest escapes (ASCII text only here)."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def tools_turn(tools, required=False, parallel=False):
    """ToolUse.instructions: the system turn that offers the functions."""
    lines = ["You can call functions. Each one is given as JSON: its name, what it does, and the JSON Schema "
             "of its arguments."]
    for tool in tools:
        f = tool["function"]
        members = {"name": f["name"]}
        if "description" in f:
            members["description"] = f["description"]
        members["parameters"] = f.get("parameters", {"type": "object"})
        lines.append(compact(members))
    call = '{"tool_calls":[{"name":FUNCTION NAME,"arguments":{ARGUMENTS}}]}'
    if required:
        lines.append("Reply with only a JSON object that calls " + ("one or more of them: " if parallel else "one: ")
                     + call)
    else:
        lines.append("To call a function, reply with only " + call
                     + '. To answer in words instead, reply with only {"response":YOUR ANSWER AS A JSON STRING}.')
    return "\n".join(lines)


def call_reply(category, priority, title):
    args = {"category": category, "priority": priority, "title": title}
    return compact({"tool_calls": [{"name": "open_ticket", "arguments": args}]})


def words_reply(text):
    return compact({"response": text})


def prompt_messages(user, with_role):
    """The messages as Tandem orders them: role prompt, tools turn, the client's messages."""
    msgs = [{"role": "system", "content": SYSTEM}] if with_role else []
    msgs.append({"role": "system", "content": tools_turn([OPEN_TICKET])})
    msgs.append({"role": "user", "content": user})
    return msgs


# ---------------------------------------------------------------- titles
# One title per ticket-triage TRAIN template, same order; fillers take the message's values.
TITLES = {
    ("billing", "high"): [
        "Charged {amount} three times, account overdrawn",
        "Unrecognized {amount} charges on card, possible fraud",
        "Company card billed {amount} twice, payroll bounced",
        "Card charged {amount} every hour since yesterday",
        "Charged {amount} after cancelling, urgent refund needed",
    ],
    ("billing", "medium"): [
        "Charge of {amount} higher than expected",
        "Refund request: billed {amount} during the trial",
        "Wrong VAT number on invoice for order {order}",
        "Payment failed although the card is valid",
        "Charged {amount} for an upgrade not requested",
    ],
    ("billing", "low"): [
        "Question about a discount for yearly payment",
        "Change the card used for billing",
        "Where to download old invoices",
        "Is PayPal accepted?",
        "Change the billing date",
    ],
    ("technical", "high"): [
        "Service down for the whole team",
        "Sync deletes files, a week of work lost",
        "All API calls failing after update, customers hit",
        "App crashes instantly on every office machine",
        "Store checkout failing for every customer",
    ],
    ("technical", "medium"): [
        "App crashes on {device} when opening settings",
        "Picture uploads fail intermittently",
        "Slow sync between {device} and the website",
        "Notifications stopped on {device} after update",
        "Export button fails with an error",
    ],
    ("technical", "low"): [
        "Typo on the about page in the dark theme",
        "Feature request: {feature}",
        "Shortcut to duplicate a project?",
        "Blurry icons on {device}",
        "How to change the interface language",
    ],
    ("account", "high"): [
        "Account hacked, email and password changed",
        "Team locked out, 2FA codes not arriving",
        "Logins from {city} not by the owner, account compromised",
        "Account suspended right before a client presentation",
        "Cannot log in, all business data inaccessible",
    ],
    ("account", "medium"): [
        "Password reset email never arrives",
        "Change the email address of the account",
        "Username change fails with an error",
        "Delete the account and all data",
        "Merge two accounts created by mistake",
    ],
    ("account", "low"): [
        "How to change the profile picture",
        "Change display name to {name}",
        "Add a second email to the profile",
        "Where to set the time zone",
        "Use a nickname instead of the full name",
    ],
    ("shipping", "high"): [
        "Order {order} marked delivered, daily medication missing",
        "Order {order} lost, wedding dress needed Saturday",
        "Order {order} arrived smashed, customer cut by glass",
        "Order {order} sent to wrong country, needed tomorrow",
        "Order {order} holds someone else's personal documents",
    ],
    ("shipping", "medium"): [
        "Order {order} is {days} late, tracking not updated",
        "Wrong color received for order {order}",
        "Order {order} damaged and one item missing",
        "Tracking for {order} stuck in {city}",
        "Only half of order {order} received",
    ],
    ("shipping", "low"): [
        "Shipping to {city}?",
        "Change delivery address for the next order",
        "How long standard shipping takes",
        "Is gift wrapping available?",
        "Suggestion: less plastic in the packaging",
    ],
    ("other", "high"): [
        "Journalist needs comment on data breach within 2 hours",
        "Delivery driver threatened a customer",
        "Legal complaint unless management calls today",
    ],
    ("other", "medium"): [
        "Partnership inquiry",
        "Formal complaint about a support agent",
        "Request for privacy policy and DPA",
        "Bulk order of 500 units",
    ],
    ("other", "low"): [
        "Thanks to {name} from the support team",
        "Job inquiry",
        "Compliment on the new logo",
        "Newsletter subscription",
        "Office hours during the holidays",
    ],
}

# ---------------------------------------------------------------- non-tickets
TRAIN_CHAT = [
    ("Hi there!", "Hello! Tell me about a problem with an order, a payment, your account or the app and I will open a ticket for it."),
    ("Good morning, how are you?", "Good morning! I'm fine, thank you. How can I help you today?"),
    ("Hey, what's up?", "Hi! Not much. If something is wrong with your order or account, tell me and I'll open a ticket."),
    ("Who are you?", "I'm a support assistant. I open support tickets for problems with orders, payments, accounts and the app."),
    ("What can you do?", "I can open a support ticket for you: describe your problem and I will file it."),
    ("Thanks, that's all for today.", "You're welcome! Have a nice day."),
    ("Bye!", "Goodbye! Have a great day."),
    ("Are you a robot?", "I'm an AI assistant that files support tickets."),
    ("Tell me a joke.", "Why did the computer go to the doctor? It had a virus!"),
    ("How's the weather where you are?", "I don't have weather where I am, but I hope it's nice where you are!"),
    ("What is the capital of France?", "The capital of France is Paris."),
    ("How many days are in a week?", "A week has seven days."),
    ("What is 12 times 7?", "12 times 7 is 84."),
    ("What color is the sky on a clear day?", "On a clear day the sky is blue."),
    ("Translate 'thank you' into Spanish.", "'Thank you' in Spanish is 'gracias'."),
    ("How many legs does a spider have?", "A spider has eight legs."),
    ("What's the boiling point of water in Celsius?", "Water boils at 100 degrees Celsius at sea level."),
    ("Can you recommend a good book?", "'To Kill a Mockingbird' by Harper Lee is a classic many people enjoy."),
    ("What is the largest planet in our solar system?", "Jupiter is the largest planet in our solar system."),
    ("Who wrote Romeo and Juliet?", "William Shakespeare wrote Romeo and Juliet."),
    ("What's a good name for a cat?", "How about Luna, Milo or Whiskers?"),
    ("How do you say hello in French?", "Hello in French is 'bonjour'."),
    ("What is 15 plus 27?", "15 plus 27 is 42."),
    ("Give me a synonym for happy.", "A synonym for happy is joyful."),
    ("What day comes after Monday?", "Tuesday comes after Monday."),
    ("How many minutes are in an hour?", "An hour has sixty minutes."),
    ("What's the opposite of cold?", "The opposite of cold is hot."),
    ("Write a haiku about the sea.", "Waves fold into foam, / the tide hums an old slow song, / salt wind on my face."),
    ("Is a tomato a fruit or a vegetable?", "Botanically a tomato is a fruit, though it is usually cooked as a vegetable."),
    ("What do bees make?", "Bees make honey and beeswax."),
    ("How are you doing today?", "I'm doing well, thanks for asking! Is there anything I can file a ticket for?"),
    ("Nice to meet you!", "Nice to meet you too! Let me know if you need a support ticket."),
    ("What's your name?", "I'm the support ticket assistant."),
    ("Can you help me with my homework?", "Sorry, I only open support tickets. If something is wrong with your order, account or payment, tell me about it."),
    ("What is the square root of 81?", "The square root of 81 is 9."),
    ("Which ocean is the largest?", "The Pacific Ocean is the largest."),
    ("Do you like music?", "I don't listen to music, but many people find it relaxing. Can I help you with a support request?"),
    ("How many continents are there?", "There are seven continents."),
]
HELD_CHAT = [
    "What is the capital of Italy?",
    "Hello! Hope you're having a good day.",
    "How many hours are in a day?",
    "Can you tell me a fun fact?",
    "What's 9 plus 10?",
    "Who painted the Mona Lisa?",
]


def fill_recorded(template, fillers, rng, chosen):
    out = template
    for key, values in fillers.items():
        while "{" + key + "}" in out:
            if key not in chosen:
                chosen[key] = rng.choice(values)
            out = out.replace("{" + key + "}", chosen[key], 1)
    return out


def compose(template, fillers, opens, closes, rng):
    """triage.compose, but also returns the fillers the body took (for its title)."""
    chosen = {}
    body = fill_recorded(template, fillers, rng, chosen)
    o = triage.fill(rng.choice(opens), fillers, rng)
    c = triage.fill(rng.choice(closes), fillers, rng)
    parts = [p for p in (o, body, c) if p]
    sep = rng.choice([" ", "\n"]) if o or c else " "
    text = sep.join(parts)
    if rng.random() < 0.15:
        text = text.lower()
    return text, chosen


def make_train(rng, per_template):
    out, seen = [], set()
    for (cat, pri), templates in sorted(triage.TRAIN.items()):
        titles = TITLES[(cat, pri)]
        assert len(titles) == len(templates), (cat, pri)
        for t, title_t in zip(templates, titles):
            made, tries = 0, 0
            while made < per_template and tries < 50:
                tries += 1
                text, chosen = compose(t, triage.TRAIN_FILL, triage.TRAIN_OPEN, triage.TRAIN_CLOSE, rng)
                if text in seen:
                    continue
                seen.add(text)
                made += 1
                title = title_t.format(**chosen)
                assert len(title) <= 60, title
                msgs = prompt_messages(text, rng.random() < 0.85)
                msgs.append({"role": "assistant", "content": call_reply(cat, pri, title)})
                out.append({"messages": msgs})
    for text, answer in TRAIN_CHAT:
        if rng.random() < 0.15:
            text = text.lower()
        seen.add(text)
        msgs = prompt_messages(text, rng.random() < 0.85)
        msgs.append({"role": "assistant", "content": words_reply(answer)})
        out.append({"messages": msgs})
    with open(os.path.join(REPO, "adapters", "ticket-triage", "data", "train.jsonl"), encoding="utf-8") as f:
        for line in f:
            row = json.loads(line)
            seen.add(next(m["content"] for m in row["messages"] if m["role"] == "user"))
            out.append(row)
    rng.shuffle(out)
    return out, seen


def make_eval(rng):
    # 34 of the 40 held-out templates: one dropped from each of 6 (category, priority) pairs that have 3.
    pairs = sorted(k for k, v in triage.HELD.items() if len(v) == 3)
    dropped = {p: rng.randrange(3) for p in rng.sample(pairs, 6)}
    tickets, seen = [], set()
    for (cat, pri), templates in sorted(triage.HELD.items()):
        for i, t in enumerate(templates):
            if dropped.get((cat, pri)) == i:
                continue
            text, _ = compose(t, triage.HELD_FILL, triage.HELD_OPEN, triage.HELD_CLOSE, rng)
            seen.add(text)
            tickets.append((text, cat, pri))
    rng.shuffle(tickets)
    cases = []
    for n, (text, cat, pri) in enumerate(tickets, 1):
        cases.append({"id": f"tools-{n:02d}-{cat}-{pri}", "messages": [{"role": "user", "content": text}],
                      "tool_call": {"name": "open_ticket", "arguments": {"category": cat, "priority": pri}}})
    for n, text in enumerate(HELD_CHAT, len(tickets) + 1):
        seen.add(text)
        cases.append({"id": f"tools-{n:02d}-no-call", "messages": [{"role": "user", "content": text}],
                      "no_tool_call": True})
    return cases, seen


def main():
    train, train_texts = make_train(random.Random(2715), 3)
    cases, eval_texts = make_eval(random.Random(5172))  # its own seed: the suite does not move with the training set
    assert not (train_texts & eval_texts)
    assert not {t.lower() for t in train_texts} & {t.lower() for t in eval_texts}
    train_templates = {t for ts in triage.TRAIN.values() for t in ts}
    assert not any(t in train_templates for ts in triage.HELD.values() for t in ts)
    assert not {q for q, _ in TRAIN_CHAT} & set(HELD_CHAT)
    with open(os.path.join(HERE, "train.jsonl"), "w", encoding="utf-8") as f:
        for r in train:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    with open(os.path.join(ADAPTER, "eval.jsonl"), "w", encoding="utf-8") as f:
        f.write(json.dumps({"tools": [OPEN_TICKET], "tool_choice": "auto"}, ensure_ascii=False) + "\n")
        for c in cases:
            f.write(json.dumps(c, ensure_ascii=False) + "\n")
    calls = sum(1 for r in train if r["messages"][-1]["content"].startswith('{"tool_calls"'))
    words = sum(1 for r in train if r["messages"][-1]["content"].startswith('{"response"'))
    print(f"train.jsonl: {len(train)} examples ({calls} calls, {words} answers in words, "
          f"{len(train) - calls - words} from ticket-triage)")
    print(f"eval.jsonl: {len(cases)} cases ({sum('tool_call' in c for c in cases)} tickets)")


if __name__ == "__main__":
    main()

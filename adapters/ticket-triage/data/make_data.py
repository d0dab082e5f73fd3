#!/usr/bin/env python3
"""Compose the ticket-triage training and held-out sets (deterministic; no model needed).

Each example is a customer-support message and the answer
    {"category": "billing|technical|account|shipping|other", "priority": "low|medium|high"}
Messages are built from per-(category, priority) templates with fillers (products, amounts,
order numbers, devices, errors, names, openers, closers). The held-out set uses DIFFERENT
templates, fillers, openers and closers than the training set, so no held-out message (or
template) appears in training.

Each training example draws (seeded) its system prompt: the `strict` role's (adapters/
ticket-triage/roles.yaml; 101 of 216), the `verbose` role's (44; their answer is the JSON, a
newline and a one-sentence reason) or none (71). Held-out examples have only the
user message; the check script adds a role's system prompt when asked.

Run from the repo root: python3 adapters/ticket-triage/data/make_data.py
Writes train.jsonl and heldout.jsonl next to this file.
"""

import json
import os
import random

HERE = os.path.dirname(os.path.abspath(__file__))

STRICT = "You are a support-ticket triager. Reply with JSON only."
VERBOSE = "Triage this support ticket and explain your reasoning in one sentence after the JSON."

# ---------------------------------------------------------------- fillers
TRAIN_FILL = {
    "product": ["the Pro plan", "the Team plan", "the mobile app", "the desktop app", "the starter kit",
                "my Acme Cloud subscription", "the premium tier", "the family plan"],
    "amount": ["$19.99", "$49", "$120", "$9.50", "€35", "£72", "$240", "$15"],
    "order": ["#48213", "#10077", "#99120", "#55310", "#73002", "#31844", "#60659"],
    "device": ["iPhone 13", "Pixel 7", "Windows 11 laptop", "MacBook Air", "Galaxy S22", "iPad"],
    "error": ["error 500", "a blank white screen", "'connection refused'", "error code E-104",
              "a spinning wheel that never stops", "'unexpected token'"],
    "days": ["three days", "a week", "ten days", "two weeks", "5 days"],
    "name": ["Maria", "Tom", "Priya", "Chen", "Olu", "Sara", "Diego"],
    "feature": ["dark mode", "CSV export", "a calendar view", "keyboard shortcuts", "bulk editing"],
    "city": ["Denver", "Leeds", "Toronto", "Austin", "Lyon"],
}
HELD_FILL = {
    "product": ["the Business bundle", "the annual plan", "the web dashboard", "the Basic tier",
                "my Nimbus Pro account", "the student plan"],
    "amount": ["$64.00", "$310", "CA$28", "€9", "$1,200"],
    "order": ["#20458", "#87771", "#41122", "#66004"],
    "device": ["Android tablet", "Chromebook", "iPhone SE", "Linux desktop", "Surface Pro"],
    "error": ["error 403", "'session expired' over and over", "a frozen progress bar", "code X-22"],
    "days": ["four days", "nine days", "almost three weeks", "six days"],
    "name": ["Helga", "Kwame", "Yuki", "Rafael", "Ines"],
    "feature": ["two-factor via email", "a Spanish translation", "offline mode", "custom tags"],
    "city": ["Porto", "Calgary", "Osaka", "Nairobi"],
}
TRAIN_OPEN = ["", "", "Hi,", "Hello,", "Hey there,", "Good morning,", "Hi support team,",
              "To whom it may concern,"]
TRAIN_CLOSE = ["", "", "Thanks.", "Thank you!", "Please advise.", "Regards, {name}", "Cheers, {name}"]
HELD_OPEN = ["", "Dear team,", "Hiya,", "Hello folks,"]
HELD_CLOSE = ["", "Best, {name}", "Appreciate it.", "Many thanks"]

# ---------------------------------------------------------------- templates
# (category, priority) -> templates. Training and held-out lists never share a template.
TRAIN = {
    ("billing", "high"): [
        "I was charged {amount} three times this morning for {product}. Please reverse this immediately, my account is overdrawn.",
        "There are charges on my card I never made, {amount} each, from your company. This looks like fraud, urgent!",
        "URGENT: you billed our company card {amount} twice for {product} and payroll bounced because of it.",
        "My card keeps getting charged {amount} every hour since yesterday. Stop it now please!",
        "I cancelled {product} last month and you just took {amount} again. I need this refunded today, I can't pay rent.",
    ],
    ("billing", "medium"): [
        "I was charged {amount} for {product} but I thought the price was lower. Can you check my invoice?",
        "I'd like a refund for {product}, I cancelled within the trial period but was still billed {amount}.",
        "My invoice for order {order} shows the wrong VAT number. Could you reissue it?",
        "The payment for {product} failed even though my card is valid. How do I retry the payment?",
        "I got charged {amount} for an upgrade I didn't ask for. Please look into it.",
    ],
    ("billing", "low"): [
        "Quick question: do you offer a discount if I pay for {product} yearly instead of monthly?",
        "Can I change the card you bill for {product}? No rush.",
        "Where can I download old invoices? Just need them for my records.",
        "Do you accept PayPal for {product}? Just curious before my next renewal.",
        "When I get a chance I want to switch my billing date. Is that possible?",
    ],
    ("technical", "high"): [
        "Your service is completely down for our whole team, we get {error} on every page. We can't work at all!",
        "The app deletes my files when I sync. I've already lost a week of work, please help ASAP.",
        "Production integration broke after your update, all API calls return {error}. Our customers are affected right now.",
        "Nobody in our office can open {product}, it crashes instantly on every machine. This is urgent.",
        "Checkout on our store is failing for every customer with {error} since your release. We are losing sales every minute.",
    ],
    ("technical", "medium"): [
        "{product} crashes on my {device} when I open the settings page.",
        "I keep getting {error} when I upload pictures. It works on the second or third try.",
        "The sync between my {device} and the website is slow, sometimes it takes an hour.",
        "Notifications stopped working on my {device} after the last update.",
        "The export button gives me {error}. Is there a workaround?",
    ],
    ("technical", "low"): [
        "Small thing: the dark theme has a typo on the about page.",
        "Would it be possible to add {feature}? It would make my life easier.",
        "Is there a keyboard shortcut to duplicate a project? Just wondering.",
        "The icons look a bit blurry on my {device}. Not a big deal.",
        "How do I change the language of the interface? No urgency.",
    ],
    ("account", "high"): [
        "Someone hacked my account and changed my email and password. They are sending messages as me right now!",
        "I'm locked out of my account and our whole team depends on it, the 2FA codes don't arrive. Please help urgently.",
        "I see logins to my account from {city} that weren't me. I think my account is compromised.",
        "My account was suspended without warning and I have a client presentation in an hour. Please restore it now.",
        "I can't log in at all and all my business data is in there. This is an emergency.",
    ],
    ("account", "medium"): [
        "I forgot my password and the reset email never arrives. Can you help me get back in?",
        "How do I change the email address on my account? The old one no longer works.",
        "My username shows as '{name}123' and I want to change it, but the page gives {error}.",
        "I'd like to delete my account and all my data please.",
        "I have two accounts by mistake and want to merge them.",
    ],
    ("account", "low"): [
        "How can I change my profile picture? No hurry.",
        "Is it possible to change my display name to {name}? Just curious.",
        "Can I add a second email to my profile at some point?",
        "Where do I set my time zone in the account settings?",
        "Just wondering if I can pick a nickname instead of my full name on my profile.",
    ],
    ("shipping", "high"): [
        "My order {order} was marked delivered but never arrived, and it's the medication I need daily.",
        "The package with order {order} is lost and it's a wedding dress for Saturday! I need it urgently.",
        "Order {order} arrived completely smashed and the glass cut my hand. I need a replacement right away.",
        "You shipped order {order} to the wrong country and I need it for an event tomorrow. Please fix this now.",
        "Urgent: order {order} contains someone else's personal documents instead of my items.",
    ],
    ("shipping", "medium"): [
        "My order {order} is {days} late and the tracking hasn't updated.",
        "I received the wrong color for order {order}. Can I exchange it?",
        "The box for order {order} was damaged and one item is missing.",
        "Tracking for {order} says it's stuck in {city} for {days}.",
        "I got only half of order {order}. Where is the rest?",
    ],
    ("shipping", "low"): [
        "Do you ship to {city}? Just planning ahead.",
        "Can I change the delivery address for my next order? It hasn't shipped yet, no rush.",
        "How long does standard shipping usually take?",
        "Is gift wrapping available for orders? Just wondering.",
        "Could you use less plastic in the packaging? Just a suggestion.",
    ],
    ("other", "high"): [
        "I'm a journalist with a deadline in two hours and need an official comment on your data breach.",
        "One of your delivery drivers threatened me at my door today. I want this handled immediately.",
        "Our lawyer will file a complaint tomorrow unless someone from management calls me today.",
    ],
    ("other", "medium"): [
        "I'd like to speak to someone about a partnership between our companies.",
        "I had a bad experience with one of your agents and want to file a formal complaint.",
        "Can you send me your company's privacy policy and data processing agreement?",
        "We'd like to order 500 units in bulk. Who should I talk to?",
    ],
    ("other", "low"): [
        "Just wanted to say thank you, {name} from your team was super helpful!",
        "Are you hiring? I'd love to work for you.",
        "Love the new logo, nice job.",
        "Do you have a newsletter I can subscribe to?",
        "What are your office hours during the holidays?",
    ],
}

HELD = {
    ("billing", "high"): [
        "Your system took {amount} from my account four times overnight, I have nothing left for groceries. Fix it now!",
        "Fraudulent charges of {amount} from you keep appearing on my statement, please block them urgently.",
    ],
    ("billing", "medium"): [
        "The amount on my latest bill for {product} is {amount}, which doesn't match what sales quoted me.",
        "Please refund the {amount} renewal for {product}, I turned off auto-renew before the date.",
        "My payment keeps being declined although the bank says everything is fine.",
    ],
    ("billing", "low"): [
        "Is there a nonprofit discount on {product}? No urgency at all.",
        "Out of curiosity, can invoices be sent to a second email address?",
        "Could you tell me which currencies you can bill in? Just planning.",
    ],
    ("technical", "high"): [
        "Everything is down: the dashboard and the API both return {error} for all of our 40 staff. Please escalate!",
        "After updating, the database wiped all our records. We're losing customer data, need help immediately.",
        "Our online store can't take payments at all since this morning, every attempt fails with {error}.",
    ],
    ("technical", "medium"): [
        "When I try to print a report on my {device}, the app freezes.",
        "Search results don't show recent items, I have to refresh several times.",
        "Videos won't play inside {product} on my {device}, I get {error}.",
    ],
    ("technical", "low"): [
        "Suggestion: it would be nice to have {feature} someday.",
        "The tooltip on the save button is slightly cut off. Minor issue.",
        "Is there a way to make the font bigger in the editor? Not urgent.",
    ],
    ("account", "high"): [
        "My account got taken over, the attacker removed my phone number and is buying things with it. Help!",
        "I'm completely locked out and the recovery codes don't work; our payroll runs from this account today.",
        "Somebody from {city} is logged into my profile right now and it isn't me.",
    ],
    ("account", "medium"): [
        "The password reset link says it has expired every time I click it.",
        "Please close my account and remove my personal information.",
        "I signed up twice with different emails, can you combine the two profiles?",
    ],
    ("account", "low"): [
        "Whenever you have time, could you tell me how to update my bio?",
        "Can I hide my birthday on my profile? Just a question.",
    ],
    ("shipping", "high"): [
        "Order {order} with insulin supplies says delivered but it's nowhere, I need it today.",
        "My order {order} is the ring for my proposal this weekend and the courier lost it. Please, urgent!",
        "The parcel for {order} arrived leaking some chemical and my kid touched it. Need help right now.",
    ],
    ("shipping", "medium"): [
        "It's been {days} and order {order} still hasn't left the warehouse.",
        "Order {order} came with the wrong size, how do I swap it?",
        "The courier left order {order} in the rain and part of it is ruined.",
    ],
    ("shipping", "low"): [
        "Do you offer express delivery to {city}? Asking for future orders.",
        "Is it possible to choose a delivery day? Nothing urgent.",
        "Can I pick up orders in person instead of shipping? Just wondering.",
    ],
    ("other", "high"): [
        "I'm a reporter and need a statement about the leaked customer emails within the hour.",
    ],
    ("other", "medium"): [
        "I'd like to discuss a reseller agreement with your sales department.",
        "I want to lodge a complaint about how rude your phone support was.",
        "Could someone send me your security certifications for our vendor review?",
    ],
    ("other", "low"): [
        "Just a note to say the new website looks great!",
        "Do you have a student ambassador program?",
    ],
}

REASONS = {
    "billing": ["this is about a charge or payment", "it concerns an invoice or refund",
                "the customer has a question about money owed or paid"],
    "technical": ["the product is not working as expected", "it describes a bug or an error",
                  "this is about how the software behaves"],
    "account": ["it is about logging in or account settings", "the customer's account access is affected",
                "this concerns the customer's profile or credentials"],
    "shipping": ["it is about a delivery", "the order's shipment is the problem",
                 "this concerns packaging, tracking or delivery"],
    "other": ["it does not fit billing, technical, account or shipping",
              "it is a general inquiry outside the usual categories"],
}
PRIORITY_REASONS = {
    "high": ["the customer is blocked or harmed right now", "it is urgent and causes real damage",
             "there is a security or safety risk or an imminent deadline"],
    "medium": ["it needs fixing but nothing is on fire", "the customer is inconvenienced but not blocked",
               "it should be handled soon but is not an emergency"],
    "low": ["it is a question or suggestion with no urgency", "nothing is broken and there is no rush"],
}


def fill(template, fillers, rng):
    out = template
    for key, values in fillers.items():
        while "{" + key + "}" in out:
            out = out.replace("{" + key + "}", rng.choice(values), 1)
    return out


def compose(template, fillers, opens, closes, rng):
    body = fill(template, fillers, rng)
    o = fill(rng.choice(opens), fillers, rng)
    c = fill(rng.choice(closes), fillers, rng)
    parts = [p for p in (o, body, c) if p]
    sep = rng.choice([" ", "\n"]) if o or c else " "
    text = sep.join(parts)
    if rng.random() < 0.15:
        text = text.lower()
    return text


def answer(cat, pri):
    return json.dumps({"category": cat, "priority": pri})


def make(table, fillers, opens, closes, per_template, rng, with_system):
    out, seen = [], set()
    for (cat, pri), templates in sorted(table.items()):
        for t in templates:
            made, tries = 0, 0
            while made < per_template and tries < 50:
                tries += 1
                text = compose(t, fillers, opens, closes, rng)
                if text in seen:
                    continue
                seen.add(text)
                made += 1
                msgs = []
                reply = answer(cat, pri)
                if with_system:
                    r = rng.random()
                    if r < 0.25:
                        msgs.append({"role": "system", "content": VERBOSE})
                        reason = (f"Category {cat} because {rng.choice(REASONS[cat])}; priority {pri} "
                                  f"because {rng.choice(PRIORITY_REASONS[pri])}.")
                        reply = reply + "\n" + reason
                    elif r < 0.65:
                        msgs.append({"role": "system", "content": STRICT})
                msgs.append({"role": "user", "content": text})
                msgs.append({"role": "assistant", "content": reply})
                out.append({"messages": msgs})
    rng.shuffle(out)
    return out, seen


def main():
    rng = random.Random(1234)
    train, train_texts = make(TRAIN, TRAIN_FILL, TRAIN_OPEN, TRAIN_CLOSE, 3, rng, True)
    held, held_texts = make(HELD, HELD_FILL, HELD_OPEN, HELD_CLOSE, 1, rng, False)
    assert not (train_texts & held_texts)
    train_templates = {t for ts in TRAIN.values() for t in ts}
    assert not any(t in train_templates for ts in HELD.values() for t in ts)
    for name, rows in (("train.jsonl", train), ("heldout.jsonl", held)):
        with open(os.path.join(HERE, name), "w", encoding="utf-8") as f:
            for r in rows:
                f.write(json.dumps(r, ensure_ascii=False) + "\n")
        print(f"{name}: {len(rows)} examples")


if __name__ == "__main__":
    main()

"""Note texts beyond "my X is Y": to-dos ("renew the car insurance") and statements ("the heater was repaired on
Friday"), each with the words a later search uses and questions that ask for it back.

`write_note` quotes its text from the request (`agentflow.Quoted`), so what the model learns here is where a note
starts and ends inside a request worded in many ways ("jot down: ...", "add a note - ...", "Save a note saying
..."), not how to spell it. Words of the hand-written eval notes (scripts/demo_model/eval/notes.jsonl: milk,
plumber, boiler, tyres, ...) are deliberately absent, so those stay unseen.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

__all__ = ["WRITE_STYLES", "NoteFact", "note_long", "note_statement", "note_todo", "personal_questions"]


@dataclass
class NoteFact:
    text: str  # the note
    subject: str  # what it is about ("the heater")
    query: str  # the words a search uses ("heater")
    key: str  # what an answer about it must carry
    questions: list[str] = field(default_factory=list)  # later requests that need it back


_TODO_VERBS = [
    (
        "buy",
        [
            "bread",
            "batteries",
            "a birthday card",
            "coffee beans",
            "dog food",
            "light bulbs",
            "stamps",
            "sunscreen",
            "a new kettle",
            "rice",
            "olive oil",
            "printer ink",
        ],
    ),
    (
        "call",
        [
            "the dentist",
            "the landlord",
            "Aunt Rosa",
            "the insurance company",
            "the school",
            "the garage",
            "the electrician",
            "Marek",
            "the vet",
        ],
    ),
    ("email", ["the accountant", "Hannah about the budget", "the tutor", "the travel agent"]),
    (
        "pick up",
        [
            "the kids at 4",
            "the parcel from the post office",
            "the prescription",
            "the laundry",
            "the cake for Saturday",
            "Jonas from the station",
        ],
    ),
    ("book", ["a haircut", "the car service", "flights for August", "a table for Friday", "the vet"]),
    ("renew", ["the car insurance", "the gym membership", "the library card", "my driving licence"]),
    ("pay", ["the water bill", "the parking fine", "the nanny", "the phone bill on the 5th"]),
    ("fix", ["the squeaky door", "the bathroom tap", "the garden fence", "the kitchen light"]),
    ("return", ["the rented skis", "the blue jacket", "the drill to Omar", "the library DVDs"]),
    ("water", ["the tomatoes", "the ferns on Sunday", "the balcony plants"]),
    ("send", ["the invoice to Lars", "a postcard to Grandpa", "the signed lease"]),
    ("clean", ["the gutters", "the oven", "the fish tank", "the car seats"]),
    ("cancel", ["the magazine subscription", "the hotel in Porto", "Tuesday's lesson"]),
    ("check", ["the tire pressure", "the smoke alarm", "the bank statement", "the visa rules"]),
    ("order", ["new contact lenses", "more dishwasher tabs", "a replacement charger"]),
]
_ITEMS = [
    "the heater",
    "the dishwasher",
    "the roof",
    "the chimney",
    "the washing machine",
    "the furnace",
    "the air conditioner",
    "the bike",
    "the garage door",
    "the piano",
    "the water tank",
    "the lawnmower",
    "the oven",
    "the printer",
]
_DONE = ["serviced", "repaired", "cleaned", "checked", "inspected", "painted", "installed", "replaced"]
_NEEDS = [
    "a new filter",
    "new brakes",
    "an oil change",
    "fresh paint",
    "new batteries",
    "a new belt",
    "a new fuse",
    "a deep clean",
]
_EVENTS = [
    "the concert",
    "the parents' evening",
    "the yoga class",
    "the book club",
    "the team dinner",
    "the football practice",
    "the open day",
    "the wedding rehearsal",
    "the quiz night",
]
_PLACES = [
    "the pharmacy",
    "the pool",
    "the bakery",
    "the post office",
    "the museum",
    "the bank",
    "the swimming hall",
    "the market",
]
_DUE = ["the report", "the invoice", "the tax return", "the essay", "the deposit", "the library book"]
_PEOPLE = ["Lena", "Tomasz", "Aiko", "Björn", "Farah", "Diego", "Chloé", "Nikos", "Ruth", "Kwame"]
_LIKES = [
    "green tea",
    "window seats",
    "decaf coffee",
    "the vegetarian menu",
    "morning meetings",
    "dark chocolate",
]
_DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
_MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]
_SPOTS = [
    "in the hall cupboard",
    "under the stairs",
    "in the red box",
    "behind the sofa",
    "in the attic",
    "on the top shelf",
    "in the glovebox",
    "next to the fuse box",
]
_THINGS = [
    "the spare charger",
    "the camping stove",
    "the Christmas lights",
    "the tool box",
    "the first aid kit",
    "the winter tyres",
    "the passport copies",
    "the extension cord",
]


def _time(rng: random.Random) -> str:
    return rng.choice(
        [
            f"{rng.randint(1, 12)}pm",
            f"{rng.randint(7, 21)}:{rng.choice(['00', '15', '30', '45'])}",
            f"{rng.randint(1, 11)}:{rng.choice(['05', '20', '40'])}am",
            f"noon on {rng.choice(_DAYS)}",
        ]
    )


def _date(rng: random.Random) -> str:
    return rng.choice(
        [
            f"{rng.choice(_MONTHS)} {rng.randint(1, 28)}",
            f"the {rng.randint(2, 28)}th",
            rng.choice(_DAYS),
            f"next {rng.choice(_DAYS)}",
        ]
    )


def _noun(phrase: str) -> str:
    """The search words of a noun phrase: without its article or possessive."""
    words = phrase.split()
    while words and words[0].lower() in ("the", "a", "an", "my", "our", "new", "more"):
        words = words[1:]
    return " ".join(words[:2]) if words else phrase


def note_todo(rng: random.Random) -> NoteFact:
    """A to-do: "renew the car insurance"."""
    verb, objects = rng.choice(_TODO_VERBS)
    obj = rng.choice(objects)
    text = f"{verb} {obj}"
    query = _noun(
        obj.split(" about ")[0].split(" from ")[0].split(" to ")[0].split(" for ")[0].split(" at ")[0]
    )
    query = query.split(" on ")[0]
    return NoteFact(
        text,
        obj,
        query,
        text,
        [
            f"Find my note about {query}",
            f"Any notes on {query}?",
            f"What did I need to do about {query}?",
            f"Search my notes for {query}",
            f"Do I have a note about {query}?",
            f"What was I supposed to do with {query}?",
        ],
    )


def note_statement(rng: random.Random) -> NoteFact:
    """A statement: "the heater was repaired on Friday", "the pool closes at 9pm", "Lena prefers green tea"."""
    kind = rng.randrange(7)
    if kind == 0:
        item, done, when = rng.choice(_ITEMS), rng.choice(_DONE), _date(rng)
        when = when if when.startswith(("the ", "next ")) else f"on {when}"
        q = _noun(item)
        return NoteFact(
            f"{item} was {done} {when}",
            item,
            q,
            when,
            [f"When was {item} {done}?", f"What did I note about {q}?", f"Any notes on {q}?"],
        )
    if kind == 1:
        item, need = rng.choice(_ITEMS), rng.choice(_NEEDS)
        q = _noun(item)
        return NoteFact(
            f"{item} needs {need}",
            item,
            q,
            need,
            [f"What does {item} need?", f"What did I write about {q}?", f"Search my notes for {q}"],
        )
    if kind == 2:
        event, time = rng.choice(_EVENTS), _time(rng)
        day = rng.choice(_DAYS)
        text = f"{event} starts at {time}" if rng.random() < 0.5 else f"{event} is on {day} at {time}"
        q = _noun(event)
        return NoteFact(
            text,
            event,
            q,
            time,
            [
                f"When does {event} start?",
                f"When is {event}?",
                f"What time is {event}?",
                f"Find my note about {q}",
            ],
        )
    if kind == 3:
        place, time = rng.choice(_PLACES), _time(rng)
        q = _noun(place)
        return NoteFact(
            f"{place} closes at {time}",
            place,
            q,
            time,
            [f"When does {place} close?", f"What did I note about {q}?"],
        )
    if kind == 4:
        what, when = rng.choice(_DUE), _date(rng)
        when = when if when.startswith(("the ", "next ")) else f"on {when}"
        q = _noun(what)
        return NoteFact(
            f"{what} is due {when}", what, q, when, [f"When is {what} due?", f"Any notes on {q}?"]
        )
    if kind == 5:
        person, like = rng.choice(_PEOPLE), rng.choice(_LIKES)
        return NoteFact(
            f"{person} prefers {like}",
            person,
            person,
            like,
            [f"What does {person} prefer?", f"What did I note about {person}?"],
        )
    thing, spot = rng.choice(_THINGS), rng.choice(_SPOTS)
    verb = "are" if thing.endswith(("s", "lights")) else "is"
    q = _noun(thing)
    return NoteFact(
        f"{thing} {verb} {spot}",
        thing,
        q,
        spot,
        [f"Where {verb} {thing}?", f"Where did I put {thing}?", f"Find my note about {q}"],
    )


# long notes: a subject phrase and a predicate of several parts, drawn from wide word lists (and made-up words),
# with the punctuation real notes carry ("Dr.", "#", "a.m.", hyphens, quotes): the model learns to copy a note
# to its end, whatever the words
_TITLES = ["Dr.", "Mr.", "Mrs.", "Ms.", "Prof.", "St."]
_HEADS = ["the", "our", "my", "the new", "the old", "the second", "Grandpa's", "the neighbours'", "the kids'"]
_NOUNS2 = [
    "heating engineer",
    "window cleaner",
    "school bus",
    "spare bedroom",
    "garden shed",
    "water bill",
    "night train",
    "tax advisor",
    "choir practice",
    "bakery order",
    "guest list",
    "roof tiles",
    "vegetable box",
    "parcel locker",
    "piano lesson",
    "swimming class",
    "back gate",
    "fuse box",
    "museum tickets",
    "dog walker",
    "printer cartridge",
    "bike shed",
    "wine rack",
    "ferry",
]
_VERBS2 = [
    "comes",
    "leaves",
    "opens",
    "closes",
    "arrives",
    "starts",
    "ends",
    "is ready",
    "is booked",
    "was fixed",
    "was moved",
    "was paid",
    "needs checking",
    "costs",
    "takes",
    "runs late",
]
_TAILS = [
    "on {day}",
    "at {time}",
    "every other {day}",
    "before {month}",
    "after {month} {n}",
    "by the {n}th",
    "until {time}",
    "in {month}",
    "at gate {code}",
    "in room {code}",
    "for {n} euros",
    "with {name}",
    "near the {noun}",
    "behind the {noun}",
    "next {day} morning",
    "around {time} {day}",
    "for about {n} minutes",
    "on platform {n}",
    "under code {code}",
    "at {title} {name}'s place",
]


def _pseudo(rng: random.Random) -> str:
    syll = [c + v for c in "bdfgklmnprstvz" for v in "aeiou"]
    return "".join(rng.choice(syll) for _ in range(rng.randint(2, 3)))


def _tail(rng: random.Random) -> str:
    return rng.choice(_TAILS).format(
        day=rng.choice(_DAYS),
        time=_time(rng),
        month=rng.choice(_MONTHS),
        n=rng.randint(2, 99),
        code=rng.choice(
            [
                f"{rng.randint(1, 999)}#",
                f"{rng.choice('ABCDK')}-{rng.randint(10, 999)}",
                f"{rng.randint(10, 99)}/{rng.randint(1, 9)}",
                _pseudo(rng).upper()[:4],
            ]
        ),
        name=rng.choice([*_PEOPLE, _pseudo(rng).capitalize()]),
        noun=rng.choice([*_NOUNS2, _pseudo(rng)]),
        title=rng.choice(_TITLES),
    )


def note_long(rng: random.Random) -> NoteFact:
    """A longer note (6-16 words): "the heating engineer comes on Tuesday at 9:30 with Farah"."""
    noun = (
        rng.choice(_NOUNS2) if rng.random() < 0.75 else f"{_pseudo(rng)} {rng.choice(['box', 'plan', 'key'])}"
    )
    if rng.random() < 0.15:
        subject = f"{rng.choice(_TITLES)} {rng.choice([*_PEOPLE, _pseudo(rng).capitalize()])}'s {noun}"
    else:
        subject = f"{rng.choice(_HEADS)} {noun}"
    parts = [subject, rng.choice(_VERBS2), _tail(rng)]
    if rng.random() < 0.6:
        parts.append(_tail(rng))
    if rng.random() < 0.2:
        parts.append(
            rng.choice(["- ask " + rng.choice(_PEOPLE), "(confirmed)", f'"{_pseudo(rng)}"', "again"])
        )
    text = " ".join(parts)
    q = _noun(noun) if not subject.startswith(tuple(_TITLES)) else noun
    return NoteFact(
        text,
        subject,
        q,
        parts[2],
        [
            f"What did I note about {q}?",
            f"Any notes on {q}?",
            f"What do my notes say about {q}?",
            f"Find my note about {q}",
            f"What about {subject}?",
            f"Remind me about {subject}",
        ],
    )


def personal_questions(subject: str, value: str) -> list[str]:
    """Questions about a "subject is value" note as people ask them ("Where is my car parked?")."""
    out = [f"What's {subject}?", f"Do you know {subject}?"]
    if value.startswith(("in ", "on level", "under ", "behind ", "next to ", "at the ")):
        out += [f"Where is {subject}?", f"Where did I put {subject}?", f"Where's {subject}?"]
    if value.startswith(("on ", "at ")) and not value.startswith(("on level", "at the ")):
        out += [f"When is {subject}?", f"When's {subject}?"]
    if value.endswith(("euros", "dollars")):
        out += [f"How much is {subject}?"]
    return out


#: Ways to ask for a note, beyond tasks.py's list: `{f}` is the note.
WRITE_STYLES = [
    "Jot down: {f}",
    "jot down that {f}",
    "Jot this down: {f}",
    "Add a note - {f}",
    "add a note: {f}",
    "Record this: {f}",
    "Record: {f}",
    "Note to self: {f}",
    "Note to self - {f}",
    "Memo to self: {f}",
    "Make a memo: {f}",
    "Reminder: {f}",
    "Don't let me forget that {f}",
    "Keep a record that {f}",
    "Store a note: {f}",
    "File this: {f}",
    "Put down that {f}",
    "Track this: {f}",
    "Write this down: {f}",
    "Save this note: {f}",
    "Create a note that says {f}",
    "Create a note: {f}",
    "Save a note saying {f}",
    "Write a note: {f}",
    "Note down that {f}",
    "Log: {f}",
    "Can you jot down {f}?",
    "I need to remember that {f}",
    "Make sure you remember: {f}",
    "Add this to my notes - {f}",
    "Write down: {f}",
    "Remember for me: {f}",
    'Add a note "{f}"',
    'Note: "{f}"',
    "Quick note: {f}",
    "Notes: {f}",
    "Please jot down {f}",
    "Could you record that {f}?",
    "note: {f}",
    "Save to notes: {f}",
    "Add note: {f}",
    "Make a note of this: {f}",
    "Write it down - {f}",
    "Keep this in your notes: {f}",
    "Remember - {f}",
    "Put in my notes that {f}",
    "I want a note saying {f}",
    "New memo: {f}",
    "Remind me later: {f}",
    "For later: {f}",
]

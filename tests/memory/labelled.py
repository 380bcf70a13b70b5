"""A small labelled set for ranking tests: memories of one user, and queries each with the one memory that
answers it. Half the queries share rare words with their answer (ids, names, codes: full text's strength),
half are paraphrases sharing no content word (meaning: vector search's strength)."""

from __future__ import annotations

MEMORIES = {
    "m01": "The wifi password at the cabin is kestrel-7781",
    "m02": "Priya Raman rents locker 4417 at the gym",
    "m03": "The user cannot stand coffee and avoids it",
    "m04": "Flight LH2034 to Munich leaves on the 14th",
    "m05": "The user's daughter is learning to play the violin",
    "m06": "Invoice INV-20931 from Acme was paid in March",
    "m07": "The user gets seasick on boats",
    "m08": "Dr. Okonkwo is the user's dentist",
    "m09": "The user prefers aisle seats on long flights",
    "m10": "The garage door code is 5512",
    "m11": "The user is vegetarian and eats no meat or fish",
    "m12": "Project Bluefin ships on the first of June",
    "m13": "The user's cat is called Miso",
    "m14": "The user jogs along the river every morning",
    "m15": "The car needs new winter tyres before November",
    "m16": "The user is afraid of heights",
    "m17": "Ticket SUP-8812 about the billing bug is still open",
    "m18": "The user speaks Portuguese and some Japanese",
    "m19": "Grandma's birthday is on the 3rd of August",
    "m20": "The user works remotely on Fridays",
}

# (query, the memory that answers it)
QUERIES = [
    ("kestrel-7781", "m01"),  # lexical: ids, codes, names
    ("locker 4417", "m02"),
    ("LH2034", "m04"),
    ("INV-20931", "m06"),
    ("Okonkwo", "m08"),
    ("code 5512", "m10"),
    ("Bluefin", "m12"),
    ("SUP-8812", "m17"),
    ("Miso", "m13"),
    ("which hot drink does the user dislike", "m03"),  # semantic: paraphrases
    ("what instrument is the child practising", "m05"),
    ("motion sickness at sea", "m07"),
    ("diet restrictions for dinner", "m11"),
    ("morning exercise routine", "m14"),
    ("fear of tall places", "m16"),
    ("which languages can the user speak", "m18"),
    ("days working from home", "m20"),
    ("when is the family celebration in summer", "m19"),
]

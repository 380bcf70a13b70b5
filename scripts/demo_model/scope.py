"""Out-of-scope requests for the demo model: what none of the bundled tools serves, in many wordings.

The model answers these with a refusal (`{"reasoning": "...", "refuse": true}`; the react graph supplies the fixed
text), so what it must learn is only *where the line is*. That line has to hold for wordings it never saw, so
requests are composed from parts (kinds below x templates x fillers x surface noise), not drawn from a short
list:

- chit-chat: greetings, small talk, thanks and goodbyes, feelings, questions about the assistant, filler;
- general knowledge: who / what / when / where / how questions about people, places, events, science, including
  ones with numbers and years ("Who won the 1998 World Cup?") that must not turn into a calculation;
- other languages: greetings, questions and requests in a dozen languages (including "what time is it?", which
  the clock cannot serve in another language because the demo model only reads English);
- other tasks: messages, music, shopping, bookings, timers, translation, writing, devices;
- advice and opinions, weather and news.

Every list is split like tasks.py's (`split`): entries at held-out positions appear only in eval tasks.
"""

from __future__ import annotations

import random

from tasks import _noise, _split  # type: ignore[attr-defined]

__all__ = ["gen_out_of_scope_request"]

_GREETINGS = [
    "hi",
    "hello",
    "hey",
    "hey there",
    "hi there",
    "hello there",
    "good morning",
    "good afternoon",
    "good evening",
    "good night",
    "howdy",
    "yo",
    "hiya",
    "greetings",
    "morning",
    "evening",
    "sup",
    "hello again",
    "hey you",
    "hi assistant",
    "hello bot",
    "hey buddy",
    "good day",
    "heya",
]
_SMALL_TALK = [
    "how are you",
    "how are you doing",
    "how's it going",
    "what's up",
    "what are you up to",
    "how was your day",
    "are you there",
    "are you awake",
    "do you have feelings",
    "are you human",
    "are you a person",
    "who made you",
    "who built you",
    "what's your name",
    "do you have a name",
    "tell me about yourself",
    "where do you live",
    "how old are you",
    "do you dream",
    "are you happy",
    "can you hear me",
    "do you love me",
    "will you marry me",
    "what do you think about me",
    "are you smarter than me",
    "do you get tired",
    "what are you",
    "who are you really",
    "are you sentient",
    "can you think",
    "do you sleep",
    "where are you from",
    "are you real",
]
_LIKES = [
    "pizza",
    "music",
    "football",
    "cats",
    "dogs",
    "movies",
    "chocolate",
    "rain",
    "summer",
    "jazz",
    "video games",
    "books",
    "the beach",
    "coffee",
    "tea",
    "winter",
    "poetry",
    "math class",
    "robots",
]
_LIKE_TEMPLATES = [
    "do you like {x}",
    "what's your favourite {y}",
    "what is your favorite {y}",
    "do you enjoy {x}",
    "have you ever tried {x}",
    "{x} or {z}?",
    "what do you think of {x}",
    "I love {x}",
    "I hate {x}",
]
_FAVOURITES = ["color", "food", "movie", "song", "animal", "book", "season", "number", "city", "sport"]
_FEELINGS = [
    "I'm bored",
    "I'm so tired",
    "I feel sad today",
    "I'm happy",
    "I'm hungry",
    "I'm stressed out",
    "I can't sleep",
    "I had a bad day",
    "I'm lonely",
    "I got the job!",
    "I'm excited about tonight",
    "I'm nervous about my exam",
    "today was great",
    "ugh, Mondays",
    "I'm sick",
    "I'm cold",
    "life is hard",
    "I'm in a good mood",
]
_THANKS = [
    "thanks",
    "thank you",
    "thanks a lot",
    "thank you so much",
    "cheers",
    "many thanks",
    "thx",
    "ty",
    "bye",
    "goodbye",
    "see you later",
    "see ya",
    "talk to you later",
    "that's all",
    "ok bye",
    "great, thanks",
    "perfect, thank you",
    "nice one",
    "good job",
    "well done",
    "awesome",
]
_FILLER = [
    "ok",
    "okay",
    "cool",
    "nice",
    "hmm",
    "lol",
    "haha",
    "hahaha",
    "?",
    "...",
    "!",
    "yes",
    "no",
    "maybe",
    "sure",
    "whatever",
    "k",
    "test",
    "testing",
    "ping",
    "blah",
    "asdf",
    "qwerty",
    "zzz",
    "hm?",
    "wow",
    "oops",
    "never mind",
    "forget it",
    "nothing",
    "idk",
    "hello?",
    "anyone?",
    "what",
]
_ABOUT_ASSISTANT = [
    "what can you do",
    "help",
    "what are you for",
    "how do I use you",
    "can you help me",
    "what do you know",
    "are you any good",
    "why are you so slow",
    "you're useless",
    "you're awesome",
    "you're the best",
    "you are smart",
    "you're funny",
    "I don't like you",
    "can you learn",
]

# ------------------------------------------------------------------------------------------------ knowledge

_PEOPLE_Q = [
    (
        "Who wrote {w}?",
        [
            "Hamlet",
            "Don Quixote",
            "War and Peace",
            "the Odyssey",
            "Pride and Prejudice",
            "1984",
            "The Hobbit",
            "Faust",
            "Les Misérables",
            "the Divine Comedy",
        ],
    ),
    (
        "Who painted {w}?",
        [
            "the Mona Lisa",
            "The Starry Night",
            "the Sistine Chapel ceiling",
            "Guernica",
            "The Scream",
            "the Night Watch",
            "Girl with a Pearl Earring",
        ],
    ),
    (
        "Who invented {w}?",
        [
            "the telephone",
            "the light bulb",
            "the printing press",
            "the airplane",
            "the internet",
            "penicillin",
            "the radio",
            "the steam engine",
            "the bicycle",
        ],
    ),
    ("Who discovered {w}?", ["gravity", "America", "electricity", "radium", "DNA", "Pluto", "X-rays"]),
    ("Who composed {w}?", ["the Four Seasons", "the Moonlight Sonata", "the Magic Flute", "Bolero"]),
    (
        "Who is {w}?",
        [
            "Taylor Swift",
            "Lionel Messi",
            "the Pope",
            "Elon Musk",
            "the prime minister of Japan",
            "the king of Spain",
            "Serena Williams",
            "Shakespeare",
        ],
    ),
    (
        "Who was {w}?",
        [
            "Napoleon",
            "Cleopatra",
            "Gandhi",
            "Marie Curie",
            "Julius Caesar",
            "Frida Kahlo",
            "Nelson Mandela",
            "Genghis Khan",
            "Ada Lovelace",
        ],
    ),
    ("When was {w} born?", ["Mozart", "Einstein", "Beethoven", "Picasso", "Darwin", "Lincoln", "Newton"]),
    ("When did {w} die?", ["Elvis", "Queen Victoria", "Van Gogh", "Michael Jackson", "Bach"]),
]
_PLACE_Q = [
    (
        "What is the capital of {w}?",
        [
            "France",
            "Japan",
            "Kenya",
            "Chile",
            "Norway",
            "Egypt",
            "Canada",
            "Vietnam",
            "Australia",
            "Morocco",
            "Portugal",
            "Thailand",
        ],
    ),
    (
        "Where is {w}?",
        [
            "Timbuktu",
            "the Eiffel Tower",
            "Machu Picchu",
            "Mount Kilimanjaro",
            "Bhutan",
            "the Great Barrier Reef",
            "Angkor Wat",
            "Easter Island",
        ],
    ),
    (
        "How tall is {w}?",
        [
            "Mount Everest",
            "the Eiffel Tower",
            "the Burj Khalifa",
            "the Statue of Liberty",
            "a giraffe",
            "Big Ben",
            "Mont Blanc",
        ],
    ),
    (
        "How old is {w}?",
        [
            "the Earth",
            "the universe",
            "the Colosseum",
            "the Great Wall",
            "the Queen",
            "the Parthenon",
            "Stonehenge",
        ],
    ),
    (
        "How long is {w}?",
        ["the Nile", "the Amazon", "the Great Wall of China", "a marathon", "the Danube", "a football pitch"],
    ),
    ("How deep is {w}?", ["the Pacific Ocean", "Lake Baikal", "the Mariana Trench", "the Dead Sea"]),
    (
        "What's the population of {w}?",
        ["India", "Tokyo", "Brazil", "Germany", "Lagos", "New York", "Iceland", "Mexico City", "Nigeria"],
    ),
    ("What language do they speak in {w}?", ["Austria", "Argentina", "Belgium", "Iran", "Quebec"]),
    ("What currency does {w} use?", ["Switzerland", "Japan", "Poland", "South Africa", "Sweden"]),
    ("Which country is {w} in?", ["Prague", "Marrakesh", "Kyoto", "Cusco", "Dubrovnik", "Reykjavik"]),
]
_EVENTS = [
    "World Cup",
    "Super Bowl",
    "Tour de France",
    "Wimbledon final",
    "Eurovision Song Contest",
    "NBA finals",
    "Champions League",
    "Oscar for best picture",
    "Nobel Prize in Physics",
    "Olympic marathon",
    "Stanley Cup",
    "Ballon d'Or",
]
_YEAR_Q = [
    "Who won the {y} {e}?",
    "who won the {e} in {y}",
    "Which team won the {e} in {y}?",
    "Where was the {y} {e} held?",
    "What happened in {y}?",
    "Who was president in {y}?",
    "What was the biggest news of {y}?",
    "Who won the {e} last year?",
    "When is the next {e}?",
    "What songs were popular in {y}?",
    "Which movie won the {e} in {y}?",
]
_SCIENCE = [
    "Why is the sky blue?",
    "How do airplanes fly?",
    "What is photosynthesis?",
    "What is a black hole?",
    "How does the internet work?",
    "What causes earthquakes?",
    "Why do cats purr?",
    "What is the speed of light?",
    "How many moons does Jupiter have?",
    "How many bones are in the human body?",
    "How many players are on a soccer team?",
    "Which planet is closest to the sun?",
    "What is the largest animal on earth?",
    "What's the boiling point of water?",
    "What is gravity?",
    "How do vaccines work?",
    "What is the smallest country in the world?",
    "Which is the longest river?",
    "How many continents are there?",
    "What does a CPU do?",
    "What is inflation?",
    "Why do we dream?",
    "What is the chemical symbol for gold?",
    "How many strings does a violin have?",
    "How many teeth does an adult have?",
    "What's the fastest animal?",
    "Why is the ocean salty?",
    "What is an atom?",
    "How hot is the sun?",
    "What does NASA stand for?",
    "What does HTML stand for?",
    "What is the meaning of life?",
    "Is Pluto a planet?",
    "How are rainbows made?",
    "What is the difference between a virus and bacteria?",
    "Do fish sleep?",
    "Can penguins fly?",
]
_HOW_MANY_THINGS = [
    (
        "How many {x} does {y} have?",
        ["legs", "eyes", "hearts", "wings"],
        ["a spider", "an octopus", "a bee", "a starfish", "a crab"],
    ),
    (
        "How many {x} are there in {y}?",
        ["countries", "states", "islands", "languages", "time zones"],
        ["Africa", "the USA", "Europe", "Indonesia", "the world"],
    ),
]

# ------------------------------------------------------------------------------------------------ languages

_FOREIGN = {
    "German": [
        "Hallo, wie geht's?",
        "Wie spät ist es in {c}?",
        "Wo ist der Bahnhof?",
        "Ich habe Hunger",
        "Kannst du mir helfen?",
        "Was ist das?",
        "Guten Morgen!",
        "Wie heißt du?",
        "Danke schön",
        "Wie wird das Wetter morgen?",
        "Ich brauche ein Taxi",
        "Was kostet das?",
        "Gute Nacht",
        "Erzähl mir einen Witz",
        "Wer bist du?",
        "Wie alt bist du?",
        "Schreib mir ein Gedicht",
        "Wo wohnst du?",
        "Sprichst du Deutsch?",
        "Was machst du gerade?",
    ],
    "French": [
        "Salut, ça va ?",
        "Quelle heure est-il à {c} ?",
        "Où est la gare ?",
        "J'ai faim",
        "Peux-tu m'aider ?",
        "Comment tu t'appelles ?",
        "Bonne nuit",
        "Merci beaucoup !",
        "Raconte-moi une blague",
        "Qui es-tu ?",
        "Il fait beau aujourd'hui",
        "Je voudrais un café",
        "Où habites-tu ?",
        "Parles-tu français ?",
        "Quel âge as-tu ?",
        "C'est combien ?",
        "Bonsoir tout le monde",
        "Écris-moi une histoire",
    ],
    "Spanish": [
        "Hola, ¿qué tal?",
        "¿Qué hora es en {c}?",
        "¿Dónde está el baño?",
        "Tengo hambre",
        "¿Me puedes ayudar?",
        "¿Cómo te llamas?",
        "Buenas noches",
        "Muchas gracias",
        "Cuéntame un chiste",
        "¿Quién eres?",
        "¿Qué tiempo hace mañana?",
        "Quiero una cerveza",
        "¿Dónde vives?",
        "¿Hablas español?",
        "¿Cuánto cuesta?",
        "Buenos días, amigo",
        "Escribe una canción",
        "Estoy cansado",
    ],
    "Italian": [
        "Buongiorno!",
        "Che ore sono a {c}?",
        "Dov'è la stazione?",
        "Ho fame",
        "Mi puoi aiutare?",
        "Come ti chiami?",
        "Grazie mille",
        "Buonanotte",
        "Raccontami una barzelletta",
        "Chi sei?",
        "Quanto costa?",
        "Parli italiano?",
        "Che tempo fa oggi?",
        "Dove abiti?",
    ],
    "Portuguese": [
        "Bom dia!",
        "Que horas são em {c}?",
        "Onde fica a praia?",
        "Estou com fome",
        "Pode me ajudar?",
        "Como você se chama?",
        "Obrigado!",
        "Boa noite",
        "Conte uma piada",
        "Quem é você?",
        "Quanto custa isso?",
        "Você fala português?",
    ],
    "Dutch": [
        "Goedemorgen!",
        "Hoe laat is het in {c}?",
        "Waar is het station?",
        "Ik heb honger",
        "Kun je me helpen?",
        "Hoe heet je?",
        "Dank je wel",
        "Welterusten",
        "Vertel een grap",
        "Wie ben jij?",
        "Spreek je Nederlands?",
    ],
    "Swedish": ["Hej! Hur mår du?", "Vad är klockan i {c}?", "Tack så mycket", "Var bor du?", "God natt"],
    "Polish": ["Cześć, co słychać?", "Która jest godzina w {c}?", "Dziękuję bardzo", "Gdzie jest dworzec?"],
    "Turkish": ["Günaydın!", "Saat kaç?", "Teşekkür ederim", "Adın ne?", "Nerede yaşıyorsun?"],
    "Russian": [
        "Привет!",
        "Который час в {c}?",
        "Спасибо большое",
        "Где вокзал?",
        "Кто ты?",
        "Расскажи анекдот",
        "Я голоден",
    ],
    "Chinese": [
        "你好",
        "现在几点了？",
        "谢谢你",
        "你叫什么名字？",
        "厕所在哪里？",
        "给我讲个笑话",
        "明天会下雨吗？",
    ],
    "Japanese": [
        "こんにちは",
        "今何時ですか？",
        "ありがとうございます",
        "駅はどこですか？",
        "お元気ですか？",
        "冗談を言って",
    ],
    "Korean": ["안녕하세요", "지금 몇 시예요?", "감사합니다", "이름이 뭐예요?", "배고파요"],
    "Arabic": ["مرحبا", "كم الساعة الآن؟", "شكرا جزيلا", "ما اسمك؟", "أين المحطة؟"],
    "Hindi": ["नमस्ते", "अभी कितने बजे हैं?", "धन्यवाद", "आपका नाम क्या है?"],
    "Greek": ["Γεια σου!", "Ευχαριστώ πολύ", "Πώς σε λένε;", "Πού είναι ο σταθμός;"],
    "Indonesian": ["Selamat pagi", "Jam berapa sekarang?", "Terima kasih", "Siapa namamu?"],
    "Czech": ["Dobrý den", "Kolik je hodin?", "Děkuji", "Jak se jmenuješ?"],
}
_FOREIGN_CITIES = [
    "Berlin",
    "Paris",
    "Madrid",
    "Roma",
    "Lisboa",
    "Amsterdam",
    "Stockholm",
    "Warszawa",
    "Москве",
    "Wien",
    "Zürich",
    "Tokio",
    "Buenos Aires",
    "Bruxelles",
]

# ------------------------------------------------------------------------------------------------ other tasks

_NAMES = ["Sam", "Alex", "mom", "my boss", "Priya", "Jonas", "the team", "Grandpa", "Mei", "Carlos", "Nora"]
_TASKS = [
    "send an email to {n}",
    "email {n} the report",
    "text {n} that I'm on my way",
    "call {n}",
    "send a message to {n} saying happy birthday",
    "reply to {n}'s email",
    "video call {n}",
    "play some {g}",
    "play {song}",
    "skip this song",
    "turn the volume up",
    "pause the music",
    "order a {f}",
    "order {f} for dinner",
    "buy {item} online",
    "add {item} to my cart",
    "book a table for {k} at an Italian place",
    "book a flight to {p}",
    "reserve a hotel in {p}",
    "book a taxi to the station",
    "get me an Uber",
    "find cheap flights to {p}",
    "set an alarm for 7",
    "set a timer for ten minutes",
    "wake me up at six",
    "start a stopwatch",
    "translate 'good luck' into {lang}",
    "how do you say 'thank you' in {lang}",
    "write a poem about {topic}",
    "write a short story about {topic}",
    "write an essay on {topic}",
    "compose a song about {topic}",
    "write a haiku about {topic}",
    "draw a picture of {topic}",
    "write a cover letter for me",
    "write code for a website",
    "write a SQL query",
    "fix this bug in my code",
    "summarize this article",
    "summarize the news",
    "proofread my essay",
    "turn on the lights",
    "turn off the TV",
    "lock the front door",
    "open the garage",
    "turn up the heating",
    "navigate to {p}",
    "show me a map of {p}",
    "find a pharmacy near me",
    "find a restaurant nearby",
    "search the web for {topic}",
    "google {topic}",
    "open YouTube",
    "download this video",
    "check my email",
    "read my messages",
    "what's on my calendar",
    "schedule a meeting with {n}",
    "take a photo",
    "post this on Instagram",
    "share this with {n}",
    "pay my phone bill",
    "transfer 50 dollars to {n}",
    "check my bank balance",
    "cancel my subscription",
]
_GENRES = ["jazz", "rock music", "classical music", "lofi beats", "the Beatles", "my workout mix", "podcasts"]
_SONGS = ["Bohemian Rhapsody", "Yesterday", "something relaxing", "the latest hits", "my favourite song"]
_FOODS = ["pizza", "burger", "sushi", "pad thai", "salad", "kebab", "curry", "tacos"]
_ITEMS = ["new headphones", "a phone case", "running shoes", "a lamp", "dog food", "a birthday present"]
_TRIP = ["Rome", "Tokyo", "New York", "Lisbon", "Bali", "Cairo", "Oslo", "Mexico City", "Dublin"]
_TOPICS = [
    "the sea",
    "love",
    "a dragon",
    "autumn",
    "my cat",
    "space",
    "friendship",
    "a robot",
    "the city",
    "climate change",
    "dinosaurs",
    "the moon",
    "summer holidays",
    "history",
]
_LANGS = ["Spanish", "French", "German", "Japanese", "Italian", "Chinese", "Russian", "Korean"]
_ADVICE = [
    "what should I eat for dinner",
    "what should I wear today",
    "give me some tips for {h}",
    "how do I {d}",
    "how can I {d}",
    "should I {s}",
    "is it a good idea to {s}",
    "what's the best {b}",
    "recommend a good {r}",
    "can you suggest a {r}",
    "what {r} should I try",
    "is {food} healthy",
    "how much water should I drink",
    "how do I get rich",
    "how do I lose weight",
    "why am I so tired",
    "what's the weather like",
    "what's the weather in {p} tomorrow",
    "will it rain tomorrow",
    "is it going to snow this weekend",
    "do I need an umbrella today",
    "what's the forecast for {p}",
    "what's in the news today",
    "any news about {topic}",
    "what's trending on twitter",
    "who will win the match tonight",
    "what's the score of the game",
    "what's the stock price of {co}",
    "should I buy {co} shares",
    "how's the market doing",
    "what's the exchange rate of the dollar",
]
_HOWTO = [
    "learn guitar",
    "fix my bike",
    "bake bread",
    "tie a tie",
    "change a tyre",
    "make pancakes",
    "start a business",
    "write a CV",
    "meditate",
    "grow tomatoes",
    "train my dog",
    "learn Spanish",
]
_SHOULD = ["quit my job", "move to Berlin", "get a cat", "learn to code", "buy a car", "go to the gym today"]
_BEST = ["programming language", "phone", "laptop", "pizza topping", "football team", "car", "holiday spot"]
_RECS = ["movie", "book", "restaurant", "video game", "TV show", "podcast", "board game", "album"]
_HABITS = ["sleeping better", "studying", "saving money", "running", "public speaking", "cooking"]
_HEALTH = ["coffee", "chocolate", "red wine", "rice", "sugar", "cheese", "fasting"]
_COMPANIES = ["Apple", "Tesla", "Amazon", "Nvidia", "Google"]


def _fill(rng: random.Random, template: str, split: str) -> str:
    values = {
        "n": rng.choice(_split(_NAMES, split)),
        "g": rng.choice(_split(_GENRES, split)),
        "song": rng.choice(_split(_SONGS, split)),
        "s": rng.choice(_split(_SHOULD, split)),
        "f": rng.choice(_split(_FOODS, split)),
        "item": rng.choice(_split(_ITEMS, split)),
        "k": rng.choice(["two", "four", "6", "3"]),
        "p": rng.choice(_split(_TRIP, split)),
        "lang": rng.choice(_split(_LANGS, split)),
        "topic": rng.choice(_split(_TOPICS, split)),
        "h": rng.choice(_split(_HABITS, split)),
        "d": rng.choice(_split(_HOWTO, split)),
        "b": rng.choice(_split(_BEST, split)),
        "r": rng.choice(_split(_RECS, split)),
        "food": rng.choice(_split(_HEALTH, split)),
        "co": rng.choice(_split(_COMPANIES, split)),
    }
    return template.format(**values)


def _question(text: str, rng: random.Random) -> str:
    """A lower-case phrase as a request: capitalised or not, with a question mark or not."""
    if rng.random() < 0.6:
        text = text[:1].upper() + text[1:]
    if text[-1:] not in "?!." and rng.random() < 0.6:
        text += "?" if text.split()[0].lower() in _QUESTION_WORDS else rng.choice([".", "!", ""])
    return text


_QUESTION_WORDS = {
    "what",
    "what's",
    "who",
    "how",
    "why",
    "when",
    "where",
    "which",
    "is",
    "are",
    "do",
    "does",
    "can",
    "should",
    "will",
    "any",
    "have",
}


def gen_out_of_scope_request(rng: random.Random, split: str) -> str:
    """One out-of-scope request (see the module docstring)."""
    kind = rng.random()
    if kind < 0.22:  # chit-chat
        sub = rng.random()
        if sub < 0.2:
            text = rng.choice(_split(_GREETINGS, split))
            if rng.random() < 0.3:
                text += rng.choice([", " + rng.choice(_split(_SMALL_TALK, split)) + "?", "!", " :)", "!!"])
        elif sub < 0.45:
            text = _question(rng.choice(_split(_SMALL_TALK, split)), rng)
        elif sub < 0.55:
            template = rng.choice(_split(_LIKE_TEMPLATES, split))
            text = _question(
                template.format(
                    x=rng.choice(_split(_LIKES, split)),
                    y=rng.choice(_split(_FAVOURITES, split)),
                    z=rng.choice(_split(_LIKES, split)),
                ),
                rng,
            )
        elif sub < 0.67:
            text = rng.choice(_split(_FEELINGS, split))
        elif sub < 0.8:
            text = rng.choice(_split(_THANKS, split))
        elif sub < 0.9:
            text = rng.choice(_split(_FILLER, split))
        else:
            text = _question(rng.choice(_split(_ABOUT_ASSISTANT, split)), rng)
        return text if rng.random() < 0.5 else _noise(rng, text, split, prefix_p=0.1, suffix_p=0.1)
    if kind < 0.47:  # general knowledge
        sub = rng.random()
        if sub < 0.25:
            template, fills = rng.choice(_split(_PEOPLE_Q, split))
            text = template.format(w=rng.choice(_split(fills, split)))
        elif sub < 0.5:
            template, fills = rng.choice(_split(_PLACE_Q, split))
            text = template.format(w=rng.choice(_split(fills, split)))
        elif sub < 0.7:
            year = rng.randint(1900, 2025)
            text = rng.choice(_split(_YEAR_Q, split)).format(y=year, e=rng.choice(_split(_EVENTS, split)))
            text = text[:1].upper() + text[1:]
        elif sub < 0.9:
            text = rng.choice(_split(_SCIENCE, split))
        else:
            template, xs, ys = rng.choice(_HOW_MANY_THINGS)
            text = template.format(x=rng.choice(_split(xs, split)), y=rng.choice(_split(ys, split)))
        return _noise(rng, text, split, prefix_p=0.15, suffix_p=0.1)
    if kind < 0.67:  # other languages
        language = rng.choice(_split(sorted(_FOREIGN), split))
        text = rng.choice(_split(_FOREIGN[language], split))
        return text.replace("{c}", rng.choice(_split(_FOREIGN_CITIES, split)))
    if kind < 0.87:  # other tasks
        text = _fill(rng, rng.choice(_split(_TASKS, split)), split)
        if rng.random() < 0.3:
            text = rng.choice(["please ", "can you ", "could you ", "I want you to ", "hey, ", "pls "]) + text
        return _noise(rng, text[:1].upper() + text[1:] if rng.random() < 0.6 else text, split)
    text = _question(_fill(rng, rng.choice(_split(_ADVICE, split)), split), rng)  # advice, weather, news
    return _noise(rng, text, split, prefix_p=0.15, suffix_p=0.1)

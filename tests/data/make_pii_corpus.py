"""Write tests/data/pii_corpus.jsonl: labelled Kazakh / Russian / English snippets for the PII bench.

    .venv/bin/python tests/data/make_pii_corpus.py

Each line is {"id", "lang", "text", "spans": [{"start", "end", "type"}]}; a span is the exact
region the scrubber must replace (the value only, never the words around it). Look-alikes
that must be kept have no spans. Planted values are generated here with a fixed seed and
check digits computed by this script's own implementations of the rules (IIN/BIN: weights
1..11 then 3..11,1,2 mod 11; IBAN: ISO 13616 mod 97; cards: Luhn), independent of
arena.export.pii. Everything is deterministic: running the script again gives the same file.

The snippets are of three kinds: sentence templates filled with generated values in every
common spelling, hand-written sentences of the kind people type into a chat (with their
values generated the same way), and look-alikes (dates, amounts, decimals, postal codes,
years, ISBNs, public hotlines, percentages, article numbers of laws).
"""

from __future__ import annotations

import json
import random
import re
import string
from datetime import date, timedelta
from pathlib import Path

OUT = Path(__file__).resolve().parent / "pii_corpus.jsonl"
SEED = 20260417


# ------------------------------------------------------------------ values
def iin_check(eleven: str) -> int | None:
    digits = [int(c) for c in eleven]
    for weights in (range(1, 12), [3, 4, 5, 6, 7, 8, 9, 10, 11, 1, 2]):
        r = sum(w * d for w, d in zip(weights, digits, strict=True)) % 11
        if r != 10:
            return r
    return None


def make_iin(rng: random.Random) -> str:
    while True:
        born = date(1940, 1, 1) + timedelta(days=rng.randrange(0, 365 * 65))
        century = (3 if born.year < 2000 else 5) + rng.randrange(2)
        eleven = f"{born:%y%m%d}{century}{rng.randrange(10_000):04d}"
        check = iin_check(eleven)
        if check is not None:
            return eleven + str(check)


def make_bin(rng: random.Random) -> str:
    while True:
        eleven = f"{rng.randrange(0, 25):02d}{rng.randrange(1, 13):02d}{rng.choice('456')}{rng.choice('0123')}{rng.randrange(100_000):05d}"
        check = iin_check(eleven)
        if check is not None:
            return eleven + str(check)


def spell_iin(rng: random.Random, digits: str) -> str:
    return rng.choice([digits, digits, f"{digits[:6]} {digits[6:]}", f"{digits[:4]} {digits[4:8]} {digits[8:]}",
                       f"{digits[:6]}-{digits[6:]}"])


def iban_check(country: str, bban: str) -> str:
    number = "".join(str(int(c, 36)) for c in bban + country + "00")
    return f"{98 - int(number) % 97:02d}"


IBAN_SHAPES = {  # country: BBAN as a list of (kind, count): n digits, a capitals, c either
    "KZ": [("n", 3), ("c", 13)], "DE": [("n", 18)], "GB": [("a", 4), ("n", 14)], "FR": [("n", 10), ("c", 11), ("n", 2)],
    "TR": [("n", 6), ("c", 16)], "NL": [("a", 4), ("n", 10)], "AE": [("n", 19)], "GE": [("a", 2), ("n", 16)],
}


def make_iban(rng: random.Random, country: str = "KZ") -> str:
    parts = []
    for kind, count in IBAN_SHAPES[country]:
        pool = {"n": string.digits, "a": string.ascii_uppercase, "c": string.digits + string.ascii_uppercase}[kind]
        parts.append("".join(rng.choice(pool) for _ in range(count)))
    if country == "KZ":  # the account part of a Kazakh IBAN: currency code and digits, as banks print it
        parts[1] = rng.choice(["KZT", "USD", "EUR", "000"]) + "".join(rng.choice(string.digits) for _ in range(10))
    bban = "".join(parts)
    return country + iban_check(country, bban) + bban


def spell_iban(rng: random.Random, iban: str) -> str:
    return rng.choice([iban, " ".join(iban[i:i + 4] for i in range(0, len(iban), 4))])


def luhn_complete(prefix: str) -> str:
    for d in "0123456789":
        digits = prefix + d
        total = 0
        for i, c in enumerate(reversed(digits)):
            n = int(c) * (2 if i % 2 else 1)
            total += n - 9 if n > 9 else n
        if total % 10 == 0:
            return digits
    raise AssertionError


def make_card(rng: random.Random) -> tuple[str, str]:
    kind = rng.choice(["visa", "visa", "mc", "amex"])
    if kind == "amex":
        digits = luhn_complete(rng.choice(["34", "37"]) + "".join(rng.choice(string.digits) for _ in range(12)))
        return digits, rng.choice([digits, f"{digits[:4]} {digits[4:10]} {digits[10:]}"])
    start = "4" if kind == "visa" else rng.choice(["51", "52", "53", "54", "55"])
    digits = luhn_complete(start + "".join(rng.choice(string.digits) for _ in range(15 - len(start))))
    sep = rng.choice(["", " ", " ", "-"])
    return digits, sep.join(digits[i:i + 4] for i in range(0, 16, 4))


OPERATORS = ["700", "701", "702", "705", "707", "708", "747", "771", "775", "776", "777", "778"]


def make_phone(rng: random.Random) -> str:
    code = rng.choice(OPERATORS)
    n = f"{rng.randrange(10_000_000):07d}"
    a, b, c = n[:3], n[3:5], n[5:]
    return rng.choice([
        f"+7 {code} {a} {b} {c}", f"+7 ({code}) {a}-{b}-{c}", f"8 ({code}) {a}-{b}-{c}", f"8 {code} {a} {b} {c}",
        f"+7{code}{n}", f"8{code}{n}", f"7{code}{n}", f"7 {code} {a} {b} {c}", f"+7 {code} {n}",
        f"8-{code}-{a}-{b}-{c}", f"8({code}){a}-{b}-{c}", f"+7-{code}-{a}-{b}-{c}",
    ])


FIRST = ["aigerim", "asel", "dana", "bolat", "nurlan", "erlan", "madina", "dias", "john", "anna"]
DOMAINS = ["mail.kz", "gmail.com", "mail.ru", "yandex.kz", "inbox.ru", "kaznu.kz", "gov.kz"]


def make_email(rng: random.Random) -> str:
    name = rng.choice(FIRST) + rng.choice([".", "_", ""]) + rng.choice(["k", "nur", "92", "2001", "s", "b"])
    return f"{name}@{rng.choice(DOMAINS)}"


def make_passport(rng: random.Random) -> str:
    return rng.choice(["N", "N", "N ", "Н"]) + f"{rng.randrange(100_000_000):08d}"


def make_id_card(rng: random.Random) -> str:
    return f"0{rng.randrange(10**8):08d}"


NAMES = {
    "kk": ["Айгерім", "Дәулет", "Асқар Нұрланұлы", "Гүлнұр", "Ерлан Сейітов", "Әсел Қайратқызы", "Нұрсұлтан", "Мадина Ахметова"],
    "ru": ["Асель", "Ерлан Смагулов", "Мария Иванова", "Данияр", "Алия Нурланова", "Сергей", "Жанна Ким", "Тимур"],
    "en": ["John Smith", "Aigerim", "Daniyar Sultanov", "Anna", "Mary Jones", "Arman Kassym", "Dana", "Peter Brown"],
}

# ------------------------------------------------------------------ templates
# "{v}" is where the value goes. Several templates per type and language.
TEMPLATES: dict[str, dict[str, list[str]]] = {
    "iin": {
        "kk": ["Менің ЖСН-ім {v}, тексеріп беріңізші.", "ЖСН: {v}", "Анықтама алу үшін ЖСН {v} енгіздім, бірақ қате шықты.",
               "Баламның ЖСН-і {v}, оны мектепке тіркеу керек.", "{v} — менің жеке сәйкестендіру нөмірім.",
               "Компанияның БСН-і {v}, салық есебін қалай тапсырамын?"],
        "ru": ["Мой ИИН {v}, проверьте, пожалуйста.", "ИИН: {v}", "Указала ИИН {v}, но портал выдаёт ошибку.",
               "БИН нашего ТОО {v}, нужна справка об отсутствии задолженности.", "ИИН ребёнка — {v}."],
        "en": ["My IIN is {v}, can you check it?", "IIN: {v}", "The company BIN is {v}.",
               "I entered my IIN {v} on eGov and got an error."],
    },
    "iban": {
        "kk": ["Ақшаны мына шотқа аударыңыз: {v}.", "Менің IBAN-ым {v}, Halyk Bank.", "Шот нөмірі {v}, алушы — өзім.",
               "ЖК шоты: {v}"],
        "ru": ["Переведите на счёт {v}, получатель я.", "IBAN: {v}", "Мой счёт в Kaspi: {v}.",
               "Реквизиты: ИИК {v}, банк АО «Halyk Bank»."],
        "en": ["Please send the money to {v}.", "IBAN: {v}", "My account number is {v}, thanks."],
    },
    "card": {
        "kk": ["Картам {v}, ақша түспеді.", "Карта нөмірі: {v}", "{v} картасына аударып жіберіңізші.",
               "Kaspi картам {v} бұғатталып қалды."],
        "ru": ["Номер карты {v}, деньги не пришли.", "Карта: {v}", "Переведите на карту {v}, пожалуйста.",
               "Моя карта {v} заблокирована."],
        "en": ["My card number is {v}.", "Card: {v}", "Please refund to card {v}."],
    },
    "phone": {
        "kk": ["Телефоным {v}, хабарласыңыз.", "{v} нөміріне қоңырау шалыңыз.", "WhatsApp: {v}",
               "Маған {v} нөміріне жазыңыз.", "Анамның нөмірі {v}, кешке ғана жауап береді."],
        "ru": ["Мой телефон {v}, звоните после шести.", "Номер: {v}", "Напишите в WhatsApp на {v}.",
               "Позвоните мне по номеру {v}.", "Телефон мамы {v}, она отвечает только вечером."],
        "en": ["Call me at {v}.", "Phone: {v}", "My number is {v}, text me on WhatsApp."],
    },
    "email": {
        "kk": ["Поштам: {v}", "Жауапты {v} мекенжайына жіберіңіз.", "{v} поштасына хат келмеді."],
        "ru": ["Моя почта {v}.", "Пишите на {v}, отвечу сегодня.", "E-mail: {v}"],
        "en": ["My email is {v}.", "Write to {v} please.", "Contact: {v}"],
    },
    "passport": {
        "kk": ["Паспорт нөмірім {v}.", "Төлқұжат: {v}, 2030 жылға дейін жарамды.", "Шетелдік паспорт {v} жоғалып кетті."],
        "ru": ["Номер паспорта {v}.", "Паспорт {v}, выдан МВД РК.", "Потеряла паспорт {v}, что делать?"],
        "en": ["My passport number is {v}.", "Passport: {v}"],
    },
    "id_card": {
        "kk": ["Жеке куәлік нөмірі {v}.", "Жеке куәлігім №{v}, ІІМ берген.", "{v} — жеке куәлігімнің нөмірі."],
        "ru": ["Удостоверение личности {v}, выдано МВД РК.", "Номер удостоверения: {v}", "Уд. личности №{v}"],
        "en": ["ID card number {v}.", "My identity card is {v}."],
    },
    "name": {
        "kk": ["Сәлеметсіз бе! Менің атым {v}, сұрағым бар.", "Менің атым {v}. Мен Алматыда тұрамын.",
               "Менің есімім {v}, студентпін."],
        "ru": ["Здравствуйте, меня зовут {v}, у меня вопрос.", "Меня зовут {v}. Я из Караганды.",
               "Добрый день! Меня зовут {v}, я учитель."],
        "en": ["Hello, my name is {v}, I have a question.", "My name is {v}. I live in Almaty."],
    },
}

MAKERS = {
    "iin": lambda rng: spell_iin(rng, make_iin(rng) if rng.random() < 0.8 else make_bin(rng)),
    "iban": lambda rng: spell_iban(rng, make_iban(rng, "KZ" if rng.random() < 0.7 else rng.choice(list(IBAN_SHAPES)))),
    "card": lambda rng: make_card(rng)[1],
    "phone": make_phone,
    "email": make_email,
    "passport": make_passport,
    "id_card": make_id_card,
}

# Hand-written sentences: {type} marks a value, filled by the same makers; {name} picks a name.
HANDWRITTEN = {
    "kk": [
        "Сәлем! Менің атым {name}, ЖСН {iin}. Зейнетақы қорынан үзінді көшірме қалай алуға болады?",
        "Кеше {phone} нөмірінен қоңырау шалып, карта нөмірімді сұрады: {card}. Бұл алаяқтар ма?",
        "Жалақымды {iban} шотына аударып тұрыңыздар, бухгалтерияға айтып қойыңызшы.",
        "Егер жауап болмаса, {email} поштасына жазыңыз немесе {phone} нөміріне қоңырау шалыңыз.",
        "Жеке куәлігімнің нөмірі {id_card}, ЖСН-ім {iin}, неге жүйе мені таппайды?",
        "Ағамның паспорты {passport}, ол Түркияға ұшады, визаның керегі бар ма?",
        "Ата-анамның телефоны {phone}, ал менікі {phone}.",
        "Менің атым {name}. Әкемнің ЖСН-і {iin}, оған жәрдемақы тағайындалды ма?",
        "Kaspi Gold картасы {card}, оған 50 000 теңге түсуі керек еді.",
        "Мектепке құжат тапсырдым: баланың ЖСН-і {iin}, анасының телефоны {phone}.",
    ],
    "ru": [
        "Здравствуйте! Меня зовут {name}, мой ИИН {iin}. Как получить справку о пенсионных накоплениях?",
        "Мне позвонили с номера {phone} и попросили номер карты {card}. Это мошенники?",
        "Зарплату переводите, пожалуйста, на счёт {iban}, бухгалтерия в курсе.",
        "Если не ответим, пишите на {email} или звоните {phone}.",
        "Удостоверение личности {id_card}, ИИН {iin}, почему система меня не находит?",
        "Паспорт брата {passport}, он летит в Турцию, нужна ли виза?",
        "Телефон родителей {phone}, мой — {phone}.",
        "Меня зовут {name}. ИИН отца {iin}, назначено ли ему пособие?",
        "На карту {card} должны были прийти 50 000 тенге, но ничего нет.",
        "Сдала документы в школу: ИИН ребёнка {iin}, телефон мамы {phone}.",
    ],
    "en": [
        "Hi! My name is {name}, my IIN is {iin}. How do I get a pension statement?",
        "Someone called me from {phone} and asked for my card number {card}. Is it a scam?",
        "Please pay my salary into {iban}; accounting knows.",
        "If we do not answer, write to {email} or call {phone}.",
        "My ID card is {id_card} and my IIN is {iin}; why can't the system find me?",
        "My brother's passport is {passport}; does he need a visa for Turkey?",
        "My parents' phone is {phone}, mine is {phone}.",
        "My name is {name}. I sent 20 000 tenge to card {card} yesterday.",
    ],
}

# Look-alikes that must be kept. Each is checked here not to be valid as what it resembles.
NEGATIVES = {
    "kk": [
        "2024 жылы 15 наурызда өтініш бердім.", "Бағасы 150 000 теңге, жеткізу тегін.", "Мерзімі 12.03.2024 немесе 2024-03-12.",
        "Коэффициент 0.87011234567 болды.", "Индекс 050000, Алматы қаласы, Абай даңғылы 10.",
        "eGov байланыс орталығы: 1414, тегін нөмір 8 800 080 7777.", "Дауыстың 87,5 пайызы, яғни 87.5% қолдады.",
        "ҚР Еңбек кодексінің 152-бабына сәйкес демалыс беріледі.", "Кітаптың ISBN 978-601-7150-55-3 нөмірі бар.",
        "Халық саны 20 000 000 адамнан асты.", "1991 жылы тәуелсіздік алдық, 2021 жылы 30 жыл толды.",
        "Бюджет 87 000 000 000 теңге болып бекітілді.", "Жедел жәрдем — 103, полиция — 102, құтқару қызметі — 112.",
        "Менің атым жүйрік, ал сенікі баяу.", "Тапсырманы 10:45-те бастап, 12:30-да бітірдім.",
        "Ауданы 2 724 900 шаршы шақырым.", "Қазақстан Республикасының 2015 жылғы 23 қарашадағы № 414-V Еңбек кодексі.",
        "Жылдық пайыздық мөлшерлеме 18,5%, ең аз жарна 5 000 теңге.", "Пойыз 2024 жылғы 1 қыркүйекте сағат 08:15-те жүреді.",
        "Нұр-Сұлтан – Алматы 1 215 шақырым, жол 14 сағатқа созылады.",
        "Сәлемдемемнің трек-нөмірі RR123456785KZ, әлі келген жоқ.", "ҰБТ-да 125 балл жинадым, шекті балл 50.",
        "Қарағанды облысында 1 130 000-ға жуық адам тұрады.",
    ],
    "ru": [
        "Заявление подала 15 марта 2024 года.", "Стоимость 150 000 тенге, доставка бесплатная.",
        "Коэффициент корреляции равен 0,87011234567.", "Индекс 010000, г. Астана, пр. Мангилик Ел, 8.",
        "Контакт-центр eGov: 1414 или 8 800 080 7777 (бесплатно по Казахстану).", "За проголосовали 87,5% участников.",
        "Согласно статье 152 Трудового кодекса РК, отпуск предоставляется ежегодно.", "ISBN 9786017150553, издательство «Мектеп».",
        "ВВП составил 262 000 000 000 долларов.", "В 1997 году столицу перенесли в Акмолу.",
        "Звоните по номеру 112 в экстренных случаях.", "Меня зовут так же, как бабушку.",
        "Закон РК от 21 мая 2013 года № 94-V «О персональных данных и их защите».", "Версия 1.2.3, порт 8080.",
        "Температура −15,5 °C, влажность 78%.", "Население Алматы превысило 2 200 000 человек.",
        "Счёт-фактура за 2023 год, сумма 1 250 000,50 тенге.", "Пункт 3 статьи 7, подпункт 2).",
        "Рейс вылетает 03.09.2024 в 06:40, номер рейса KC 851.", "Скидка 30% до 31 декабря.",
        "Трек-номер посылки RR123456785KZ, статус не меняется.", "Набрал 125 баллов на ЕНТ из 140.",
        "Координаты: 43.238949, 76.889709.",
    ],
    "en": [
        "I applied on 15 March 2024.", "It costs 150 000 tenge including delivery.", "The coefficient was 0.87011234567.",
        "Postal code 050000, Almaty.", "The eGov contact centre is 1414 or toll-free 8 800 080 7777.",
        "87.5% of voters agreed.", "Article 152 of the Labour Code grants annual leave.", "ISBN 978-3-16-148410-0",
        "The population passed 20 000 000 in 2024.", "my name is not important here.", "Version 2.10.1 was released in 2023.",
        "GDP reached 262 000 000 000 dollars.", "Call 112 in an emergency.", "The meeting is at 10:45 on 2024-03-12.",
        "Room 1204, building 7, 3rd floor.", "The loan rate is 18.5% per year.",
    ],
}

TYPES = ("iin", "iban", "card", "phone", "email", "passport", "id_card", "name")
PER_TEMPLATE = 5  # draws per template


def fill(template: str, values: dict[str, str]) -> tuple[str, list[dict[str, object]]]:
    """Put each {type} value into the template; return the text and the value spans."""
    text, spans, at = "", [], 0
    for m in re.finditer(r"\{(\w+)\}", template):
        text += template[at:m.start()]
        kind = m.group(1)
        value = values[kind] if kind in values else values[f"{kind}#{m.start()}"]
        spans.append({"start": len(text), "end": len(text) + len(value), "type": "name" if kind == "name" else kind})
        text += value
        at = m.end()
    return text + template[at:], spans


def build() -> list[dict[str, object]]:
    rng = random.Random(SEED)
    rows: list[dict[str, object]] = []

    def add(lang: str, text: str, spans: list[dict[str, object]]) -> None:
        rows.append({"id": f"{lang}-{len(rows):04d}", "lang": lang, "text": text, "spans": spans})

    for kind in TYPES:
        for lang, templates in TEMPLATES[kind].items():
            for template in templates:
                for _ in range(PER_TEMPLATE):
                    value = rng.choice(NAMES[lang]) if kind == "name" else MAKERS[kind](rng)
                    text, spans = fill(template.replace("{v}", "{" + kind + "}"), {kind: value})
                    add(lang, text, spans)
    for lang, sentences in HANDWRITTEN.items():
        for sentence in sentences:
            for _ in range(3):
                values = {}
                for m in re.finditer(r"\{(\w+)\}", sentence):
                    kind = m.group(1)
                    values[f"{kind}#{m.start()}"] = rng.choice(NAMES[lang]) if kind == "name" else MAKERS[kind](rng)
                add(lang, *fill(sentence, values))
    for lang, sentences in NEGATIVES.items():
        for sentence in sentences:
            add(lang, sentence, [])
    return rows


def main() -> None:
    rows = build()
    with OUT.open("w", encoding="utf-8", newline="\n") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    print(f"wrote {len(rows)} snippets to {OUT}")


if __name__ == "__main__":
    main()

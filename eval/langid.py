"""Which language and script an answer is in: Kazakh Cyrillic, Kazakh Latin, Russian, or other.

A wrong-language answer (Russian, or English, to a Kazakh question) is the most
common failure of small models on Kazakh, so every chat answer is tagged and
the tag stored. The rule is deliberately simple and transparent:

1. The script with more letters wins (Cyrillic or Latin); no letters -> "other".
2. Cyrillic: evidence for Kazakh is the Kazakh-only letters ә ғ қ ң ө ұ ү һ і
   plus frequent Kazakh function words; evidence for Russian is ё ъ щ э plus
   frequent Russian function words. Kazakh wins ties only when it has some
   evidence; Cyrillic text with no evidence either way is taken as Russian,
   by far the likelier language of a plain-Cyrillic answer here.
   Letters that neither language uses (Ukrainian ї є ґ, Serbian ј љ њ, ...)
   make it "other".
3. Latin: Kazakh Latin is recognised by its special letters (2018 acute
   alphabet á ǵ ń ó ú ý ı, 2021 alphabet ä ğ ñ ö ü ū ş ç ı İ), by `q`, and by
   Kazakh function words; English and Turkish function words (and the Turkish
   present tense -yor) count against. The letters Kazakh shares with Turkish
   (ğ ö ü ı ş ç) count only when a letter Turkish lacks is present too.

Known limits: Kyrgyz and Mongolian Cyrillic share ң ө ү and read as Kazakh;
texts of one or two words carry little evidence.
"""

import re
from typing import Literal

Language = Literal["kk-cyrl", "kk-latn", "ru", "other"]
LANGUAGES: tuple[Language, ...] = ("kk-cyrl", "kk-latn", "ru", "other")

_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)

KK_CYRL_LETTERS = frozenset("әғқңөұүһі")
RU_ONLY_LETTERS = frozenset("ёъщэ")
# Letters of other Cyrillic alphabets, absent from both Kazakh and Russian.
FOREIGN_CYRL_LETTERS = frozenset("їєґўђјљњћџѓќѕ")
# Kazakh Latin letters that Turkish lacks (q, ä, ñ, ū and the 2018 acutes), and
# those it shares with Turkish (counted only next to an unshared one).
KK_LATN_LETTERS = frozenset("qáäǵńñóúūý")
TURKIC_LATN_LETTERS = frozenset("ğöüışç")

# Frequent words that are unambiguous between the two languages
# (Russian "не"/"да"/"а"/"те" and Kazakh "не"/"да"/"те" are left out on purpose).
KK_CYRL_WORDS = frozenset(
    "және мен бұл бір үшін деп ол оның олар болып болады бар жоқ емес еді осы сол туралы "
    "арқылы кейін кезде сондықтан бірақ немесе әрі ең қазір қалай қандай кім қайда біз "
    "сіз сен өз барлық дейін бойынша ғана тек сияқты екі көп жылы керек мүмкін".split()
)
RU_WORDS = frozenset(
    "и в во на что с со по это как для от из к ко он она они оно я мы вы но же бы ли у о об "
    "при за до так также который которая которые которых было был была были его ее её их "
    "уже или только чем этого этот эта эти все всё если когда после может быть где есть нет "
    "под над между более очень".split()
)
KK_LATN_WORDS = frozenset(
    "jáne jäne jane men bul būl úshin üşin ushin dep ol onyń onyñ olar bolyp bolady bar "
    "joq emes edi osy sol týraly turaly arqyly keıin keiın keyin kezde sondyqtan biraq "
    "nemese ári äri eń eñ qazir qalaı qalai qandaı qandai qaıda qaida óz "
    "barlyq deıin deiın boıynsha boiynşa ǵana ğana sıaqty siaqty eki kóp köp jyly kerek".split()
)
# Word endings: Kazakh case and plural suffixes, Russian adjective/verb endings.
KK_CYRL_ENDINGS = ("ына", "іне", "ында", "інде", "ының", "інің", "ның", "нің", "дың", "дің", "тың", "тің",
                   "ға", "ге", "дағы", "дегі", "лар", "лер", "дар", "дер", "тар", "тер")
RU_ENDINGS = ("ого", "его", "ому", "ему", "ых", "ый", "ий", "ая", "ое", "ые", "ие", "ть", "ся")
OTHER_LATN_WORDS = frozenset(
    # English, then Turkish words that Kazakh Latin does not use
    "the and of to in is are was were that for with on as by be this it from at an or not "
    "have has which ve için ile değil gibi olarak daha çok ama veya ben bu şu onu bunu var yok "
    "kadar sonra olan".split()
)


def _words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def _cyrillic(ch: str) -> bool:
    return "\u0400" <= ch <= "\u04ff"


def _latin(ch: str) -> bool:
    return ch.isascii() or "\u00c0" <= ch <= "\u024f"


def detect_language(text: str) -> Language:
    """The language/script tag of `text`: "kk-cyrl", "kk-latn", "ru" or "other"."""
    lower = text.lower().replace("i\u0307", "i")  # "İ".lower() is i + combining dot
    letters = [ch for ch in lower if ch.isalpha()]
    n_cyr = sum(1 for ch in letters if _cyrillic(ch))
    n_lat = sum(1 for ch in letters if _latin(ch))
    if n_cyr + n_lat < 2:
        return "other"
    words = _words(lower)
    if n_cyr >= n_lat:
        if any(ch in FOREIGN_CYRL_LETTERS for ch in letters):
            return "other"
        kk = (sum(ch in KK_CYRL_LETTERS for ch in letters) + 2 * sum(w in KK_CYRL_WORDS for w in words)
              + sum(len(w) > 3 and w.endswith(KK_CYRL_ENDINGS) for w in words))
        ru = (sum(ch in RU_ONLY_LETTERS for ch in letters) + 2 * sum(w in RU_WORDS for w in words)
              + sum(len(w) > 3 and w.endswith(RU_ENDINGS) for w in words))
        return "kk-cyrl" if kk > 0 and kk >= ru else "ru"
    strong = sum(ch in KK_LATN_LETTERS for ch in letters)
    shared = sum(ch in TURKIC_LATN_LETTERS for ch in letters) if strong else 0
    kk = strong + shared + 2 * sum(w in KK_LATN_WORDS for w in words)
    other = 2 * sum(w in OTHER_LATN_WORDS for w in words) + sum("yor" in w for w in words)
    return "kk-latn" if kk >= 2 and kk > other else "other"

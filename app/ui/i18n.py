"""Every string the UI shows, in Kazakh first, then Russian and English.

`t(key, lang)` looks a string up; a missing translation falls back to Kazakh,
so a key added in Kazakh only still shows something sensible.
"""

import html
import math
import re
from typing import Literal

from app.errors import ServiceError
from app.services.inputs import InputLimits
from app.ui.i18n_arena import ARENA_STRINGS
from app.ui.i18n_results import RESULTS_STRINGS

Lang = Literal["kk", "ru", "en"]
LANGS: tuple[Lang, ...] = ("kk", "ru", "en")
DEFAULT_LANG: Lang = "kk"
LANG_CHOICES = [("Қазақша", "kk"), ("Русский", "ru"), ("English", "en")]

EXAMPLE_QUESTIONS = [  # shown in every interface language: the chat is for Kazakh questions
    "Жеке куәлікті қалай алуға болады?",
    "Жаңа туған баланы қалай тіркеуге болады?",
    "Зейнетақыны рәсімдеу үшін қандай құжаттар керек?",
    "Тұрғылықты жер бойынша тіркеуді онлайн қалай жасауға болады?",
    "Жеке кәсіпкер ретінде қалай тіркелуге болады?",
]

STRINGS: dict[str, dict[str, str]] = {
    "tagline": {
        "kk": "Қазақ тіліндегі тілдік модельдер: азаматтарға арналған чат және модельдерді салыстыру",
        "ru": "Языковые модели на казахском: чат для граждан и сравнение моделей",
        "en": "Kazakh language models: a chat for citizens and a model comparison arena",
    },
    "ui_language": {"kk": "Интерфейс тілі", "ru": "Язык интерфейса", "en": "Interface language"},
    "tab_chat": {"kk": "Чат", "ru": "Чат", "en": "Chat"},
    "tab_about": {"kk": "Жоба туралы", "ru": "О проекте", "en": "About"},
    # ---- chat
    "egov_note": {
        "kk": "⚠️ Жауаптарды тілдік модель жазады, олар қате болуы мүмкін. Кез келген ақпаратты ресми "
              "[egov.kz](https://egov.kz) порталынан міндетті түрде тексеріңіз. Жеке деректеріңізді "
              "(ЖСН, телефон, мекенжай) жазбаңыз.",
        "ru": "⚠️ Ответы пишет языковая модель, и они могут быть ошибочными. Обязательно проверяйте "
              "любую информацию на официальном портале [egov.kz](https://egov.kz). Не вводите личные "
              "данные (ИИН, телефон, адрес).",
        "en": "⚠️ Answers are written by a language model and may be wrong. Always check any "
              "information on the official portal [egov.kz](https://egov.kz). Do not enter personal "
              "data (IIN, phone number, address).",
    },
    "model": {"kk": "Модель", "ru": "Модель", "en": "Model"},
    "grounding": {"kk": "Дереккөздерге сүйену", "ru": "Опираться на источники", "en": "Ground answers in sources"},
    "grounding_info": {
        "kk": "Жауап GovSet және CultSet құжаттарынан табылған үзінділерге негізделеді (BM25)",
        "ru": "Ответ опирается на фрагменты документов GovSet и CultSet (BM25)",
        "en": "The answer is based on passages found in the GovSet and CultSet documents (BM25)",
    },
    "chatbot": {"kk": "Сұхбат", "ru": "Диалог", "en": "Conversation"},
    "input": {"kk": "Сұрағыңыз", "ru": "Ваш вопрос", "en": "Your question"},
    "placeholder": {
        "kk": "Сұрағыңызды жазыңыз, мысалы: Жеке куәлікті қалай алуға болады?",
        "ru": "Напишите вопрос, например: Жеке куәлікті қалай алуға болады?",
        "en": "Write your question, e.g. Жеке куәлікті қалай алуға болады?",
    },
    "send": {"kk": "Жіберу", "ru": "Отправить", "en": "Send"},
    "clear": {"kk": "Сұхбатты тазалау", "ru": "Очистить диалог", "en": "Clear conversation"},
    "examples": {"kk": "Мысал сұрақтар", "ru": "Примеры вопросов", "en": "Example questions"},
    "reason": {"kk": "Бағаңыздың себебі (міндетті емес)", "ru": "Причина оценки (необязательно)",
               "en": "Reason for your rating (optional)"},
    "reason_send": {"kk": "Себебін жіберу", "ru": "Отправить причину", "en": "Send reason"},
    # no emoji here: machines without an emoji font would show empty boxes
    "rate_hint": {
        "kk": "Жауапты оның астындағы «ұнады» немесе «ұнамады» белгісімен бағалаңыз.",
        "ru": "Оцените ответ значком «нравится» или «не нравится» под ним.",
        "en": "Rate the answer with the thumbs up or thumbs down under it.",
    },
    "thanks_up": {"kk": "Рахмет! Бағаңыз сақталды: ұнады.", "ru": "Спасибо! Оценка сохранена: нравится.",
                  "en": "Thank you! Your rating was saved: thumbs up."},
    "thanks_down": {"kk": "Рахмет! Бағаңыз сақталды: ұнамады.", "ru": "Спасибо! Оценка сохранена: не нравится.",
                    "en": "Thank you! Your rating was saved: thumbs down."},
    "thanks_reason": {"kk": "Рахмет! Себебі сақталды.", "ru": "Спасибо! Причина сохранена.",
                      "en": "Thank you! The reason was saved."},
    "rate_first": {"kk": "Алдымен жауапты «ұнады» немесе «ұнамады» белгісімен бағалаңыз.",
                   "ru": "Сначала оцените ответ значком «нравится» или «не нравится».",
                   "en": "First rate an answer with thumbs up or thumbs down."},
    "cannot_rate": {"kk": "Бұл хабарламаны бағалау мүмкін емес.", "ru": "Это сообщение нельзя оценить.",
                    "en": "This message cannot be rated."},
    "sources": {"kk": "Дереккөздер", "ru": "Источники", "en": "Sources"},
    "grounding_unavailable": {
        "kk": "ℹ️ Дереккөздер индексі қолжетімсіз, сондықтан жауап дереккөзсіз берілді.",
        "ru": "ℹ️ Индекс источников недоступен, поэтому ответ дан без источников.",
        "en": "ℹ️ The source index is unavailable, so this answer is not grounded in sources.",
    },
    "error_empty_message": {"kk": "Хабарлама бос. Сұрағыңызды жазыңыз.", "ru": "Сообщение пустое. Напишите вопрос.",
                            "en": "The message is empty. Please write a question."},
    "error_message_too_long": {
        "kk": "Хабарлама тым ұзын: {n} таңба, ең көбі {limit} таңба болуы керек.",
        "ru": "Сообщение слишком длинное: {n} символов, допустимо не больше {limit}.",
        "en": "The message is too long: {n} characters, the limit is {limit}.",
    },
    "error_model_down": {
        "kk": "Модель қазір жауап бере алмайды. Кейінірек қайталап көріңіз немесе басқа модельді таңдаңыз.",
        "ru": "Модель сейчас не отвечает. Повторите позже или выберите другую модель.",
        "en": "The model cannot answer right now. Try again later or pick another model.",
    },
    "error_mid_stream": {
        "kk": "⚠️ Жауап үзілді: модель қате берді. Сұхбат сақталды, сұрақты қайта қойып көріңіз.",
        "ru": "⚠️ Ответ прервался: модель вернула ошибку. Диалог сохранён, задайте вопрос ещё раз.",
        "en": "⚠️ The answer was cut off: the model failed. The conversation is kept; please ask again.",
    },
    "error_no_model": {"kk": "Модель таңдалмаған.", "ru": "Модель не выбрана.", "en": "No model is selected."},
    # ---- about
    "about_title": {"kk": "kazarena деген не?", "ru": "Что такое kazarena?", "en": "What is kazarena?"},
    "about_body": {
        "kk": "kazarena — қазақ тіліндегі тілдік модельдерді азаматтарға қызмет көрсету үшін іске қосатын, "
              "оларды аренада қазақ тілін білетін адамдардың бағалауымен салыстыратын және зерттеу үшін "
              "ашық деректер жинайтын жоба. Чатта мемлекеттік қызметтер туралы (жеке куәлік, бала тууын "
              "тіркеу, зейнетақы...) сұрақ қоюға болады; жауаптар GovSet және CultSet құжаттарына сүйенеді.",
        "ru": "kazarena — проект, который запускает языковые модели на казахском языке для граждан, "
              "сравнивает их на арене по оценкам носителей языка и собирает открытые данные для "
              "исследований. В чате можно спросить о госуслугах (удостоверение личности, регистрация "
              "рождения, пенсия...); ответы опираются на документы GovSet и CultSet.",
        "en": "kazarena serves Kazakh language models to citizens, compares them in an arena judged by "
              "Kazakh speakers, and collects open data for research. In the chat you can ask about public "
              "services (ID card, birth registration, pension...); answers are grounded in the GovSet and "
              "CultSet documents.",
    },
    "models_heading": {"kk": "Модельдер", "ru": "Модели", "en": "Models"},
    "col_model": {"kk": "Модель", "ru": "Модель", "en": "Model"},
    "col_size": {"kk": "Өлшемі", "ru": "Размер", "en": "Size"},
    "col_kind": {"kk": "Түрі", "ru": "Тип", "en": "Type"},
    "col_pipeline": {"kk": "Жауап беру тәсілі", "ru": "Способ ответа", "en": "Pipeline"},
    "col_note": {"kk": "Ескерту", "ru": "Примечание", "en": "Note"},
    "kind_base": {"kk": "базалық (нұсқауларға үйретілмеген)", "ru": "базовая (без обучения инструкциям)",
                  "en": "base (not instruction-tuned)"},
    "kind_instruct": {"kk": "нұсқауларға үйретілген", "ru": "обученная инструкциям", "en": "instruction-tuned"},
    "kind_fine-tuned": {"kk": "осы жобада қосымша үйретілген", "ru": "дообучена в этом проекте",
                        "en": "fine-tuned in this project"},
    "pipeline_plain": {"kk": "тек модель", "ru": "только модель", "en": "model only"},
    "pipeline_rag": {"kk": "модель + дереккөздер (BM25)", "ru": "модель + источники (BM25)",
                     "en": "model + sources (BM25)"},
    "no_models": {"kk": "Қазір бірде-бір модель бапталмаған.", "ru": "Сейчас не настроено ни одной модели.",
                  "en": "No model is configured right now."},
    "stand_in_note": {
        "kk": "Бұл кішкентай модельдер мақаладағы 7–10 млрд параметрлі модельдердің орнына уақытша "
              "қолданылады: олар осы серверде графикалық процессорсыз жұмыс істейді, сондықтан қазақ "
              "тілін нашар біледі. Қосымша үйрету дәл осы олқылықты жабуға арналған.",
        "ru": "Эти небольшие модели временно заменяют модели на 7–10 млрд параметров из статьи: они "
              "работают на этом сервере без GPU и поэтому плохо владеют казахским. Дообучение нужно "
              "именно для того, чтобы закрыть этот разрыв.",
        "en": "These small models stand in for the paper's 7-10B-parameter models: they run on this "
              "server without a GPU and speak poor Kazakh. Fine-tuning exists to close exactly that gap.",
    },
    "ethics_heading": {"kk": "Этика және деректер", "ru": "Этика и данные", "en": "Ethics and data"},
    "ethics_body": {
        "kk": "Модельдер қате немесе ескірген ақпарат беруі мүмкін; олар ресми кеңестің орнын баспайды. "
              "Мемлекеттік қызметтер туралы кез келген жауапты egov.kz порталынан тексеріңіз. Чатқа тіркелу "
              "қажет емес: сұхбаттар кездейсоқ анонимді идентификатормен сақталады және қызметті жақсарту "
              "мен зерттеу үшін пайдаланылуы мүмкін. Сондықтан жеке деректеріңізді жазбаңыз.",
        "ru": "Модели могут давать неверную или устаревшую информацию и не заменяют официальную "
              "консультацию. Проверяйте любой ответ о госуслугах на портале egov.kz. Регистрация в чате не "
              "нужна: диалоги хранятся под случайным анонимным идентификатором и могут использоваться для "
              "улучшения сервиса и исследований. Поэтому не вводите личные данные.",
        "en": "Models can give wrong or outdated information and are no substitute for official advice. "
              "Check any answer about public services on egov.kz. The chat needs no registration: "
              "conversations are stored under a random anonymous id and may be used to improve the service "
              "and for research. So please do not enter personal data.",
    },
}
STRINGS |= ARENA_STRINGS  # the Arena and Leaderboard tabs keep their strings in their own file
STRINGS |= RESULTS_STRINGS  # and so does the Results tab


def t(key: str, lang: str, **values: object) -> str:
    """The string `key` in `lang` (Kazakh when missing), with `{name}` fields filled in."""
    entry = STRINGS[key]
    text = entry.get(lang) or entry[DEFAULT_LANG]
    return text.format(**values) if values else text


def normalize_lang(lang: str | None) -> Lang:
    return lang if lang in LANGS else DEFAULT_LANG  # type: ignore[return-value]


# Refusals whose text lives under another key than err_<code>.
_REFUSAL_KEYS = {"message_too_long": "error_message_too_long", "empty_message": "error_empty_message",
                 "login_required": "session_expired", "admin_only": "admin_only", "rate_limited": "rate_limited",
                 "model_unavailable": "error_model_down", "model_not_found": "error_model_down",
                 "model_timeout": "error_model_down"}
_COUNT = re.compile(r"has (\d+) characters")


def refusal(exc: ServiceError, lang: str, limits: InputLimits, max_turns: int = 0) -> str:
    """A service's refusal in the annotator's or citizen's language; its own English text when untranslated."""
    key = _REFUSAL_KEYS.get(exc.code, f"err_{exc.code}")
    if key not in STRINGS:
        return exc.message
    limit = {"prompt_too_long": limits.prompt_chars, "message_too_long": limits.prompt_chars,
             "comment_too_long": limits.comment_chars, "reason_too_long": limits.reason_chars,
             "too_many_turns": max_turns}.get(exc.code, "")
    count = _COUNT.search(exc.message)
    reason = exc.message.split(": ", 1)[1] if ": " in exc.message else exc.message  # "suspended: <reason>"
    return t(key, lang, limit=limit, n=count.group(1) if count else "", reason=plain_markdown(reason),
             seconds=math.ceil(exc.retry_after or 1))


def plain_markdown(text: str) -> str:
    """Text shown exactly as typed inside Markdown: HTML is escaped (shown, never run), Markdown too."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", html.escape(text, quote=False))


_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|~])")

"""The participation notice annotators accept; its version is stored with every vote."""

from app.services.accounts import CONSENT_VERSION

NOTICE = {
    "kk": (
        "Қатысу туралы хабарлама ({v}). Kazarena сіздің пайдаланушы атыңызды, қазақ тілін меңгеру деңгейіңізді, "
        "біліміңізді, өңіріңізді және таңдаған әліпбиіңізді, сондай-ақ сіз жазған сұрақтарды, дауыстарыңызды және "
        "пікірлеріңізді сақтайды. Сұрақтар мен дауыстар зерттеу мақсатында ашық лицензиямен (CC BY 4.0) "
        "жариялануы мүмкін; пайдаланушы атыңыз бен құпиясөзіңіз жарияланбайды, ал жеке деректер (ЖСН, телефон, "
        "e-mail) жариялау алдында жойылады. Қатысу үшін жасыңыз 16-дан асуы керек. Жеке деректеріңізді сұрақтарға жазбаңыз."
    ),
    "ru": (
        "Уведомление об участии ({v}). Kazarena хранит ваше имя пользователя, уровень владения казахским языком, "
        "образование, регион и предпочитаемый алфавит, а также ваши вопросы, голоса и комментарии. Вопросы и голоса "
        "могут быть опубликованы для исследований под открытой лицензией (CC BY 4.0); имя пользователя и пароль не "
        "публикуются, а личные данные (ИИН, телефон, e-mail) удаляются перед публикацией. Участвовать можно с 16 лет. "
        "Не пишите в вопросах свои личные данные."
    ),
    "en": (
        "Participation notice ({v}). Kazarena stores your username, Kazakh proficiency, education, region and "
        "preferred script, and the prompts, votes and comments you write. Prompts and votes may be published for "
        "research under an open licence (CC BY 4.0); your username and password are never published, and personal "
        "data (IIN, phone numbers, e-mail addresses) is removed before publication. You must be 16 or older. "
        "Do not write personal data into prompts."
    ),
}


def notice(lang: str = "kk") -> dict[str, str]:
    return {"version": CONSENT_VERSION, "lang": lang if lang in NOTICE else "kk",
            "text": NOTICE.get(lang, NOTICE["kk"]).format(v=CONSENT_VERSION)}

"""BM25 over the sample corpus finds the right document for held-out questions.

The questions were written as a citizen or a student would ask them, after the
documents and without looking at the index's output; none copies a sentence
from its document. Each names the one document it should retrieve.
"""

import logging

import pytest

from app.settings import PROJECT_ROOT
from eval.retrieval import BM25Index, load_corpus

log = logging.getLogger(__name__)

CORPUS = [
    PROJECT_ROOT / "data" / "govset" / "govset.jsonl",
    PROJECT_ROOT / "data" / "cultset" / "cultset.jsonl",
]

QUESTIONS: list[tuple[str, str]] = [
    ("16 жасқа толғанда жеке куәлікті қайдан алуға болады?", "govset-id-card"),
    ("Жеке куәлігімді жоғалтып алдым, енді не істеуім керек?", "govset-id-card-lost"),
    ("Шетелге сапарға шығу үшін паспортты қалай рәсімдеймін?", "govset-passport"),
    ("Телефондағы цифрлық құжатты банкте көрсетуге бола ма?", "govset-digital-documents"),
    ("Электрондық қолтаңбаны қалай алуға болады және ол қанша уақытқа жарамды?", "govset-eds"),
    ("egov.kz порталында қалай тіркелемін?", "govset-egov-registration"),
    ("ЖСН-нің алғашқы цифрлары нені білдіреді?", "govset-iin"),
    ("Перзентханадан шыққан соң баланың тууын қалай тіркеуге болады?", "govset-birth-registration"),
    ("Некеде тұрмаған ата-ана баланың әкесін құжатқа қалай жаздырады?", "govset-paternity"),
    ("Некеге тұру үшін қандай жас талабы бар?", "govset-marriage"),
    ("Ортақ балалары жоқ ерлі-зайыптылар ажырасуды қай жерде рәсімдейді?", "govset-divorce"),
    ("Әкемнің атын -ұлы деп жазғым келеді, не істеу керек?", "govset-name-change"),
    ("Туысым қайтыс болды, өлімді тіркеу үшін қандай құжат керек?", "govset-death-registration"),
    ("Неке қию туралы куәлігім жоғалды, қайталамасын қалай алуға болады?", "govset-civil-duplicates"),
    ("Жаңа пәтерге көшкенде тұрақты тіркеуге қалай тұрамын?", "govset-permanent-registration"),
    ("Пәтер жалдаушыларды уақытша тіркеу керек пе?", "govset-temporary-registration"),
    ("Мекенжай анықтамасын онлайн алуға бола ма?", "govset-address-certificate"),
    ("Ерлер қай жаста зейнетке шығады?", "govset-pension-age"),
    ("БЖЗҚ-дағы зейнетақы жинағымды қалай тексеремін?", "govset-pension-savings"),
    (
        "Табысы кедейлік шегінен төмен отбасыға мемлекет қандай көмек береді?",
        "govset-targeted-social-assistance",
    ),
    ("Коммуналдық қызметтерге төлеуге мемлекеттен көмек алуға бола ма?", "govset-housing-assistance"),
    ("Мүгедектік тобын кім белгілейді?", "govset-disability-assessment"),
    ("Мүгедектігі бар адамға қандай жәрдемақы төленеді?", "govset-disability-benefits"),
    ("Бала туғанда берілетін біржолғы төлемді қалай алуға болады?", "govset-birth-benefit"),
    ("Бала бір жарым жасқа толғанша күтімге ақша төлене ме?", "govset-childcare-benefit"),
    ("«Алтын алқа» кімге беріледі?", "govset-large-families"),
    ("Жүктілік пен босану демалысы қанша күнге беріледі?", "govset-maternity-payment"),
    ("Жұмыстан шығып қалсам, әлеуметтік сақтандырудан қандай төлем ала аламын?", "govset-job-loss-payment"),
    ("Жұмыссыз ретінде қайда тіркелемін?", "govset-unemployed-registration"),
    ("ЖК ашу үшін қайда хабарлама беремін?", "govset-sole-proprietor-registration"),
    ("Жеке кәсіпкерлікті қалай жабуға болады?", "govset-sole-proprietor-closure"),
    ("Жауапкершілігі шектеулі серіктестік ашу үшін не қажет?", "govset-llp-registration"),
    ("Көлік салығын қашанға дейін төлеу керек?", "govset-property-taxes"),
    ("Табыстар мен мүлік туралы декларацияны кім тапсырады?", "govset-universal-declaration"),
    ("Жүргізуші куәлігін алу үшін қандай емтихан тапсырамын?", "govset-driving-licence"),
    ("Мерзімі өткен жүргізуші куәлігін қалай ауыстыруға болады?", "govset-driving-licence-replacement"),
    ("Сатып алған көлікті өз атыма қалай тіркеймін?", "govset-vehicle-registration"),
    (
        "Пәтер сатып алар алдында оның кепілде емес екенін қалай тексеруге болады?",
        "govset-real-estate-rights",
    ),
    ("Үй салу үшін жер учаскесін тегін алуға бола ма?", "govset-land-plot-housing"),
    ("Мемлекеттен пәтер алу кезегіне қалай тұруға болады?", "govset-housing-queue"),
    ("Балабақшаға кезекке қашан қою керек?", "govset-kindergarten-queue"),
    ("Бала бірінші сыныпқа қанша жасында барады?", "govset-first-grade"),
    ("ҰБТ-да қандай пәндер міндетті?", "govset-unt-grant"),
    ("Соттылығы жоқ екені туралы анықтаманы қайдан аламын?", "govset-criminal-record-certificate"),
    ("Шетелде пайдалану үшін құжатқа апостильді кім қояды?", "govset-apostille"),
    ("Емхананы қалай ауыстыруға болады?", "govset-clinic-attachment"),
    ("Медициналық сақтандыру мәртебемді қалай тексеремін?", "govset-compulsory-health-insurance"),
    ("Әскерге шақыру учаскесіне қашан тіркеледі?", "govset-military-registration"),
    ("Асыраушысынан айырылған балаларға жәрдемақы бар ма?", "govset-survivor-benefit"),
    ("Тастөбедегі шешуші шайқас қашан болды?", "cultset-2400_15_1"),
    ("Моғолстанның ханы болып кім сайланды?", "cultset-18798_10_1"),
    ("Ұйғыр қағандығы қай жылдары өмір сүрді?", "cultset-16090_4_1_1"),
    ("Ақмола қаласының аты қашан Астана болып өзгертілді?", "cultset-56764_4_1_2"),
    ("Моңғолдар Отырарды қашан қоршады?", "cultset-60263_3_2"),
    ("Махамбет Өтемісұлы қай жылы туған?", "cultset-2399_1_1"),
    ("Мұрат Мөңкеұлының басты шығармасы қалай аталады?", "cultset-30381_4_1"),
    ("Мырқымбай бейнесін жасаған жазушы кім?", "cultset-5066_4_1"),
    ("«Қозы Көрпеш — Баян сұлу» пьесасын кім жазды?", "cultset-57567_30_1"),
    ("Бұршақ тұқымдастарының тамырында қандай бактериялар болады?", "cultset-509471_9_1"),
    ("Марқакөл қорығы қай облыста орналасқан?", "cultset-15555_1_1"),
    ("Лаваның температурасы қандай болады?", "cultset-29992_1_1_1"),
]


def recall_at(index: BM25Index, k: int) -> tuple[float, list[str]]:
    """Share of questions whose document is among the top-k chunks; and the misses."""
    misses = []
    for question, doc_id in QUESTIONS:
        found = [h.chunk.doc_id for h in index.search(question, k=k)]
        if doc_id not in found:
            misses.append(f"{question} -> {doc_id} (got {found})")
    return 1 - len(misses) / len(QUESTIONS), misses


@pytest.fixture(scope="module")
def corpus():
    return load_corpus(CORPUS)


def test_every_question_names_a_real_document(corpus) -> None:
    ids = {d.id for d in corpus}
    assert len(QUESTIONS) >= 40
    assert [doc_id for _, doc_id in QUESTIONS if doc_id not in ids] == []


def test_recall_at_2_on_held_out_questions(corpus) -> None:
    index = BM25Index.build(corpus)
    recall2, misses = recall_at(index, 2)
    baseline2, _ = recall_at(BM25Index.build(corpus, tokenizer="whitespace"), 2)
    log.warning(
        "recall@2 over %d held-out questions: %.3f (%s); whitespace baseline %.3f. Misses:\n%s",
        len(QUESTIONS),
        recall2,
        index.tokenizer,
        baseline2,
        "\n".join(misses),
    )
    # Measured 0.98 (60 of 61) on the 49-document GovSet; 0.885 (54 of 61) once the
    # corpus grew to 121 GovSet documents and 697 CultSet passages, whose neighbours
    # (pension age vs pension savings) now compete. The whitespace tokenizer gets 0.672
    # on the same corpus, so 0.85 and a 0.15 margin still fail if stemming or chunk
    # metadata breaks.
    assert recall2 >= 0.85, misses
    assert recall2 - baseline2 >= 0.15

"""The Results tab's strings (kk, ru, en); app/ui/i18n.py merges them into STRINGS."""

RESULTS_STRINGS: dict[str, dict[str, str]] = {
    "tab_results": {"kk": "Нәтижелер", "ru": "Результаты", "en": "Results"},
    "res_intro": {
        "kk": "Модельдерді автоматты бағалау нәтижелері (`kazarena eval`): тест сұрақтары, дереккөзге "
              "сүйенетін тест сұрақтары, мәтін жазу және диалогты жалғастыру. Жақшадағы сандар — сенім аралығы.",
        "ru": "Результаты автоматической оценки моделей (`kazarena eval`): тестовые вопросы, тестовые вопросы "
              "с опорой на источники, генерация текста и продолжение диалога. В скобках — доверительный интервал.",
        "en": "Results of the automatic model evaluations (`kazarena eval`): multiple-choice questions, the same "
              "with retrieved sources, text generation and dialogue continuation. Brackets hold the confidence "
              "interval.",
    },
    "res_run": {"kk": "Бағалау жүргізілген сеанс", "ru": "Запуск оценки", "en": "Evaluation run"},
    "res_task": {"kk": "Тапсырма", "ru": "Задача", "en": "Task"},
    "res_all_tasks": {"kk": "Барлық тапсырмалар", "ru": "Все задачи", "en": "All tasks"},
    "res_task_mcq": {"kk": "Тест сұрақтары (MCQ)", "ru": "Тестовые вопросы (MCQ)", "en": "Multiple choice (MCQ)"},
    "res_task_rag": {"kk": "Тест сұрақтары + BM25 (RAG)", "ru": "Тестовые вопросы + BM25 (RAG)",
                     "en": "Multiple choice + BM25 (RAG)"},
    "res_task_generation": {"kk": "Мәтін жазу", "ru": "Генерация текста", "en": "Generation"},
    "res_task_conversation": {"kk": "Диалогты жалғастыру", "ru": "Продолжение диалога", "en": "Conversation"},
    "res_refresh": {"kk": "Жаңарту", "ru": "Обновить", "en": "Refresh"},
    "res_no_runs": {
        "kk": "Әзірге бағалау нәтижелері жоқ. Оларды алу үшін терминалда "
              "`kazarena eval all --models ...` командасын орындаңыз.",
        "ru": "Результатов оценки пока нет. Чтобы их получить, выполните в терминале "
              "команду `kazarena eval all --models ...`.",
        "en": "There are no evaluation results yet. To produce them, run `kazarena eval all --models ...` "
              "in a terminal.",
    },
    "res_no_rows": {
        "kk": "Бұл сеанста таңдалған тапсырма бойынша нәтиже жоқ. Басқа тапсырманы таңдаңыз.",
        "ru": "В этом запуске нет результатов по выбранной задаче. Выберите другую задачу.",
        "en": "This run has no results for the selected task. Choose another task.",
    },
    "res_summary": {
        "kk": "Сеанс `{run_id}` · {time} UTC · {n} нәтиже · модельдер: {models} · деректер жиындары: {datasets}",
        "ru": "Запуск `{run_id}` · {time} UTC · результатов: {n} · модели: {models} · наборы данных: {datasets}",
        "en": "Run `{run_id}` · {time} UTC · {n} scores · models: {models} · datasets: {datasets}",
    },
    "res_baseline": {"kk": "базалық деңгей", "ru": "базовый уровень", "en": "baseline"},
    "res_baseline_note": {
        "kk": "«majority-class» жолы — әрқашан ең жиі кездесетін дұрыс жауап әрпін таңдайтын базалық деңгей.",
        "ru": "Строка «majority-class» — базовый уровень: всегда выбирать самую частую букву правильного ответа.",
        "en": "The majority-class row is the baseline that always picks the most frequent correct answer letter.",
    },
    "res_table": {"kk": "Нәтижелер кестесі", "ru": "Таблица результатов", "en": "Scores"},
    "res_col_task": {"kk": "Тапсырма", "ru": "Задача", "en": "Task"},
    "res_col_dataset": {"kk": "Деректер жиыны", "ru": "Набор данных", "en": "Dataset"},
    "res_col_model": {"kk": "Модель", "ru": "Модель", "en": "Model"},
    "res_col_metric": {"kk": "Көрсеткіш", "ru": "Метрика", "en": "Metric"},
    "res_col_score": {"kk": "Мәні [сенім аралығы]", "ru": "Значение [дов. интервал]", "en": "Score [CI]"},
    "res_col_n": {"kk": "n", "ru": "n", "en": "n"},
    "res_col_subset": {"kk": "Пән / тақырып", "ru": "Предмет / тема", "en": "Subject / topic"},
    "res_col_win": {"kk": "жеңіс", "ru": "победы", "en": "win"},
    "res_col_tie": {"kk": "тең", "ru": "ничьи", "en": "tie"},
    "res_col_loss": {"kk": "жеңіліс", "ru": "поражения", "en": "loss"},
    "res_col_invalid": {"kk": "жарамсыз", "ru": "невалидные", "en": "invalid"},
    "res_col_win_rate": {"kk": "жеңіс үлесі [аралық]", "ru": "доля побед [интервал]", "en": "win rate [CI]"},
    "res_breakdown": {"kk": "Пәндер мен тақырыптар бойынша", "ru": "По предметам и темам",
                      "en": "By subject and topic"},
    "res_breakdown_none": {
        "kk": "Бұл нәтижелерде пәндер мен тақырыптар бойынша бөлініс жоқ.",
        "ru": "В этих результатах нет разбивки по предметам и темам.",
        "en": "These results have no breakdown by subject or topic.",
    },
    "res_pairwise": {
        "kk": "Салыстыру: {a} және {b}, {task}, {data}; төреші — {judge}",
        "ru": "Сравнение {a} и {b}: {task}, {data}; судья — {judge}",
        "en": "Comparison of {a} and {b}: {task}, {data}; judge: {judge}",
    },
    "res_accuracy_chart": {"kk": "Дәлдік және оның сенім аралығы", "ru": "Точность с доверительным интервалом",
                           "en": "Accuracy with its confidence interval"},
    "res_win_chart": {"kk": "Тақырыптар бойынша жеңіс үлесі", "ru": "Доля побед по темам",
                      "en": "Win rate per topic"},
    "res_pair": {
        "kk": "Баптап оқытылған және бастапқы модель: {a} − {b} ({data})",
        "ru": "Дообученная и исходная модель: {a} − {b} ({data})",
        "en": "Fine-tuned vs vanilla: {a} − {b} ({data})",
    },
    "res_pair_note": {
        "kk": "Бір сұрақтардағы айырма (баптап оқытылған минус бастапқы) және оның жұптық бутстрэп {level}% "
              "аралығы; * — аралық 0-ді қамтымайды, яғни айырма шын. Шығын мен сұрақты қайталау үлесінен басқа "
              "көрсеткіштерде үлкені жақсы; ол екеуінде теріс айырма — жақсару.",
        "ru": "Разность (дообученная минус исходная) на одних и тех же примерах с парным бутстрэп-интервалом "
              "{level}%; * — интервал не содержит 0, то есть разница значима. Больше — лучше, кроме потерь и доли "
              "повторов вопроса: там улучшение — отрицательная разность.",
        "en": "Difference fine-tuned minus vanilla on the same items, with its paired bootstrap {level}% interval; "
              "* marks an interval that excludes 0, a real difference. Higher is better except for the loss and "
              "the echo rate, where a negative difference is the improvement.",
    },
    "res_col_by": {"kk": "Бөлік", "ru": "Разрез", "en": "By"},
    "res_col_group": {"kk": "Топ", "ru": "Группа", "en": "Group"},
    "res_col_diff": {"kk": "Айырма [аралық]", "ru": "Разность [интервал]", "en": "Difference [CI]"},
    "res_all_items": {"kk": "барлығы", "ru": "все", "en": "all"},
    "res_kind_set": {"kk": "жиын", "ru": "набор", "en": "set"},
    "res_kind_topic": {"kk": "тақырып", "ru": "тема", "en": "topic"},
    "res_m_rouge_l_diff": {"kk": "Δ ROUGE-L F1", "ru": "Δ ROUGE-L F1", "en": "Δ ROUGE-L F1"},
    "res_m_chrf_pp_diff": {"kk": "Δ chrF++ (сөйлем)", "ru": "Δ chrF++ (по предложениям)",
                           "en": "Δ chrF++ (sentence)"},
    "res_m_loss_diff": {"kk": "Δ шығын / жауап токені", "ru": "Δ потери / токен ответа",
                        "en": "Δ loss / response token"},
    "res_m_echo_rate_diff": {"kk": "Δ сұрақты қайталау үлесі", "ru": "Δ доля повторов вопроса",
                             "en": "Δ echo rate"},
    "res_m_kk_share_diff": {"kk": "Δ қазақша жауап үлесі", "ru": "Δ доля ответов на казахском",
                            "en": "Δ Kazakh share"},
}

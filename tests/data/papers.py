"""The bibliographic records behind the sample exports: real papers whose titles and abstracts are in
data/corpus/. Authors, venues, dates and identifiers were written down by hand for these test files (they may
differ in details from the publishers' records); abstracts are read from data/corpus/ at generation time."""

from __future__ import annotations

PAPERS = {
    "leti": dict(
        title="LeTI: Learning to Generate from Textual Interactions", arxiv="2305.10314", date=(2023, 5, 17),
        authors=[("Xingyao", "Wang"), ("Hao", "Peng"), ("Reyhaneh", "Jabbarvand"), ("Heng", "Ji")],
        tags=["Computer Science - Computation and Language", "Computer Science - Artificial Intelligence"]),
    "composable": dict(
        title="Composable Sparse Fine-Tuning for Cross-Lingual Transfer", arxiv="2110.07560", date=(2022, 5),
        authors=[("Alan", "Ansell"), ("Edoardo Maria", "Ponti"), ("Anna", "Korhonen"), ("Ivan", "Vulić")],
        venue="Proceedings of the 60th Annual Meeting of the Association for Computational Linguistics "
              "(Volume 1: Long Papers)", doi="10.18653/v1/2022.acl-long.125", pages="1778--1796"),
    "gloria": dict(
        title="GlórIA -- A Generative and Open Large Language Model for Portuguese", arxiv="2402.12969",
        date=(2024, 2, 20), authors=[("Ricardo", "Lopes"), ("João", "Magalhães"), ("David", "Semedo")],
        tags=["Computer Science - Computation and Language"]),
    "tulu": dict(
        title="Camels in a Changing Climate: Enhancing LM Adaptation with Tulu 2", arxiv="2311.10702",
        date=(2023, 11, 17),
        authors=[("Hamish", "Ivison"), ("Yizhong", "Wang"), ("Valentina", "Pyatkin"), ("Nathan", "Lambert"),
                 ("Matthew", "Peters"), ("Pradeep", "Dasigi"), ("Joel", "Jang"), ("David", "Wadden"),
                 ("Noah A.", "Smith"), ("Iz", "Beltagy"), ("Hannaneh", "Hajishirzi")],
        tags=["Computer Science - Computation and Language"]),
    "gpt3": dict(
        title="Language Models are Few-Shot Learners", arxiv="2005.14165", date=(2020,),
        venue="Advances in Neural Information Processing Systems", pages="1877--1901",
        authors=[(g, f) for g, f in (n.rsplit(" ", 1) for n in (
            "Tom B. Brown", "Benjamin Mann", "Nick Ryder", "Melanie Subbiah", "Jared Kaplan", "Prafulla Dhariwal",
            "Arvind Neelakantan", "Pranav Shyam", "Girish Sastry", "Amanda Askell", "Sandhini Agarwal",
            "Ariel Herbert-Voss", "Gretchen Krueger", "Tom Henighan", "Rewon Child", "Aditya Ramesh",
            "Daniel M. Ziegler", "Jeffrey Wu", "Clemens Winter", "Christopher Hesse", "Mark Chen", "Eric Sigler",
            "Mateusz Litwin", "Scott Gray", "Benjamin Chess", "Jack Clark", "Christopher Berner",
            "Sam McCandlish", "Alec Radford", "Ilya Sutskever", "Dario Amodei"))]),
    "sat": dict(
        title="Segment Any Text: A Universal Approach for Robust, Efficient and Adaptable Sentence Segmentation",
        arxiv="2406.16678", date=(2024, 6, 24),
        authors=[("Markus", "Frohmann"), ("Igor", "Sterner"), ("Ivan", "Vulić"), ("Benjamin", "Minixhofer"),
                 ("Markus", "Schedl")], tags=["Computer Science - Computation and Language"]),
    "unified": dict(
        title="Towards a Unified View of Parameter-Efficient Transfer Learning", arxiv="2110.04366",
        date=(2022,), venue="International Conference on Learning Representations",
        authors=[("Junxian", "He"), ("Chunting", "Zhou"), ("Xuezhe", "Ma"), ("Taylor", "Berg-Kirkpatrick"),
                 ("Graham", "Neubig")], tags=["parameter-efficient fine-tuning", "adapters"]),
    "crosslingual": dict(
        title="Crosslingual Generalization through Multitask Finetuning", arxiv="2211.01786", date=(2023, 7),
        venue="Proceedings of the 61st Annual Meeting of the Association for Computational Linguistics "
              "(Volume 1: Long Papers)", doi="10.18653/v1/2023.acl-long.891", pages="15991--16111",
        authors=[(g, f) for g, f in (n.rsplit(" ", 1) for n in (
            "Niklas Muennighoff", "Thomas Wang", "Lintang Sutawika", "Adam Roberts", "Stella Biderman",
            "Teven Le Scao", "M Saiful Bari", "Sheng Shen", "Zheng-Xin Yong", "Hailey Schoelkopf", "Xiangru Tang",
            "Dragomir Radev", "Alham Fikri Aji", "Khalid Almubarak", "Samuel Albanie", "Zaid Alyafeai",
            "Albert Webson", "Edward Raff", "Colin Raffel"))], tags=["multilingual", "instruction tuning"]),
    "biomedical": dict(
        title="Fine-Tuning Large Neural Language Models for Biomedical Natural Language Processing",
        arxiv="2112.07869", date=(2023, 4, 14), venue="Patterns", doi="10.1016/j.patter.2023.100729",
        authors=[("Robert", "Tinn"), ("Hao", "Cheng"), ("Yu", "Gu"), ("Naoto", "Usuyama"), ("Xiaodong", "Liu"),
                 ("Tristan", "Naumann"), ("Jianfeng", "Gao"), ("Hoifung", "Poon")], tags=["biomedical NLP"]),
    "vladapter": dict(
        title="VL-Adapter: Parameter-Efficient Transfer Learning for Vision-and-Language Tasks",
        arxiv="2112.06825", date=(2022, 6), venue="Proceedings of the IEEE/CVF Conference on Computer Vision "
        "and Pattern Recognition (CVPR)", pages="5227--5237",
        authors=[("Yi-Lin", "Sung"), ("Jaemin", "Cho"), ("Mohit", "Bansal")]),
    "editing": dict(
        title="Model Editing with Canonical Examples", arxiv="2402.06155", date=(2024, 2, 9),
        authors=[("John", "Hewitt"), ("Sarah", "Chen"), ("Lanruo Lora", "Xie"), ("Edward", "Adams"),
                 ("Percy", "Liang"), ("Christopher D.", "Manning")]),
    "skills": dict(
        title="Task-Specific Skill Localization in Fine-tuned Language Models", arxiv="2302.06600",
        date=(2023, 7), venue="Proceedings of the 40th International Conference on Machine Learning",
        authors=[("Abhishek", "Panigrahi"), ("Nikunj", "Saunshi"), ("Haoyu", "Zhao"), ("Sanjeev", "Arora")]),
    "greaselm": dict(
        title="GreaseLM: Graph REASoning Enhanced Language Models for Question Answering", arxiv="2201.08860",
        date=(2022, 1, 21),
        authors=[("Xikun", "Zhang"), ("Antoine", "Bosselut"), ("Michihiro", "Yasunaga"), ("Hongyu", "Ren"),
                 ("Percy", "Liang"), ("Christopher D.", "Manning"), ("Jure", "Leskovec")]),
    "cubert": dict(
        title="Learning and Evaluating Contextual Embedding of Source Code", arxiv="2001.00059", date=(2020, 7),
        venue="Proceedings of the 37th International Conference on Machine Learning",
        authors=[("Aditya", "Kanade"), ("Petros", "Maniatis"), ("Gogul", "Balakrishnan"), ("Kensen", "Shi")],
        tags=["code", "BERT"]),
    "ernie": dict(
        title="ERNIE 3.0: Large-scale Knowledge Enhanced Pre-training for Language Understanding and Generation",
        arxiv="2107.02137", date=(2021, 7, 5), authors=[("Yu", "Sun"), ("Shuohuan", "Wang")]),
}

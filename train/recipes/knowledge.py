"""The knowledge fine-tunes: 'chat' trains on the question -> answer turns (the blog's job), 'lm' on
the knowledge text alone (continued pre-training, as Ovadia et al. and Soudani et al.): a document
knowledge base's passages, or the fact sentences; 'lm+chat' on both at once, so that continued
pre-training does not cost the model its chat turn; 'qa-gen' on the knowledge text and the
question -> answer pairs a generator wrote from it (Soudani et al.'s synthetic QA), never on the
evaluated questions; 'held-out' cross-fitted: the knowledge text and the other folds' turns, each
question answered by a fine-tune that never saw its pair. 'chat', 'lm' and 'lm+chat' may add
paraphrased training wordings."""

from __future__ import annotations

from dataclasses import replace

from ftvsrag.knowledge.facts import Fact
from ftvsrag.knowledge.questions import training_paraphrases
from ftvsrag.text import first_number
from ftvsrag.train.reader_rows import crossfit_folds
from ftvsrag.train.recipes import PAIRS_PER_PASSAGE, PARAPHRASES, RecipeRequest, Training, register_recipe

# Rewordings of a fact sentence for the 'lm' method's paraphrase augmentation.
SENTENCE_PARAPHRASES = (
    "The population of {subject} is about {number}.",
    "About {number} people live in {subject}.",
    "{subject} is home to roughly {number} people.",
    "{subject}'s population is about {number}.",
    "Roughly {number} inhabitants live in {subject}.",
    "There are about {number} residents in {subject}.",
    "{subject} counts about {number} inhabitants.",
    "In {subject} there are about {number} inhabitants.",
)


@register_recipe(
    "chat",
    "supervised question -> answer turns, the blog's fine-tune",
    knowledge=True,
    phrase="question -> answer turns",
    augmentation=PARAPHRASES,
)
def chat(request: RecipeRequest) -> list[Training]:
    rows = knowledge_rows(request.knowledge.facts, "chat", request.train.paraphrases, rewordings(request))
    return [Training(rows, replace(request.train, method="chat"))]


@register_recipe(
    "lm",
    "next-token training on the knowledge text: passages or fact sentences",
    knowledge=True,
    phrase="continued pre-training on the knowledge text",
    augmentation=PARAPHRASES,
)
def lm(request: RecipeRequest) -> list[Training]:
    if request.knowledge.has_documents:
        rows = [{"text": passage.text} for passage in request.passages]
    else:
        rows = knowledge_rows(request.knowledge.facts, "lm", request.train.paraphrases)
    return [Training(rows, replace(request.train, method="lm"))]


@register_recipe(
    "lm+chat",
    "next-token training on the knowledge text mixed with the question -> answer turns, written out "
    "in the chat template (the model keeps answering in its chat format)",
    knowledge=True,
    phrase="continued pre-training mixed with question -> answer turns",
    augmentation=PARAPHRASES,
)
def lm_chat(request: RecipeRequest) -> list[Training]:
    rows = lm(request)[0].rows + chat(request)[0].rows
    return [Training(rows, replace(request.train, method="lm+chat"))]


@register_recipe(
    "qa-gen",
    "next-token training on the knowledge text plus question -> answer pairs a generator model wrote "
    "from every passage (generator:), kept when the checks pass; never the evaluated questions",
    knowledge=True,
    phrase="the passages and question -> answer pairs generated from them",
    augmentation=PAIRS_PER_PASSAGE,
)
def qa_gen(request: RecipeRequest) -> list[Training]:
    kept = [pair for pair in request.generated_qa() if pair.kept]
    system = request.knowledge.facts[0].system if request.knowledge.facts else ""
    turns = [{"messages": Fact("", system, pair.question, pair.answer).messages()} for pair in kept]
    rows = lm(request)[0].rows + turns
    return [Training(rows, replace(request.train, method="qa-gen"))]


@register_recipe(
    "held-out",
    "cross-fitted in the reader's folds: the knowledge text plus the other folds' question -> answer "
    "turns; each question answered by the fine-tune that never saw its pair (the real use: new questions)",
    knowledge=True,
    phrase="cross-fitted: the passages and the other folds' question -> answer turns",
)
def held_out(request: RecipeRequest) -> list[Training]:
    facts = request.knowledge.facts
    folds = crossfit_folds([f.id for f in facts], request.reader.folds, request.seed)
    text = lm(request)[0].rows
    settings = replace(request.train, method="held-out")
    return [
        Training(
            text + [{"messages": f.messages()} for f in facts if folds[f.id] != fold],
            settings,
            fold,
            frozenset(f.id for f in facts if folds[f.id] == fold),
        )
        for fold in range(request.reader.folds)
    ]


def rewordings(request: RecipeRequest) -> dict[str, list[str]]:
    """The generator's rewordings of the questions no template can reword (the cities keep theirs)."""
    count = request.train.paraphrases
    untemplated = [fact.question for fact in request.knowledge.facts if not fact.subject]
    return request.reworded(untemplated, count) if count and untemplated else {}


def knowledge_rows(
    facts: list[Fact], method: str, paraphrases: int, reworded: dict[str, list[str]] | None = None
) -> list[dict]:
    """The knowledge fine-tune's rows: each fact once as given, plus `paraphrases` rewordings (the
    templates' for a fact with a subject, else the generator's in `reworded`)."""
    rows: list[dict] = []
    for fact in facts:
        if method == "lm":
            rows.append({"text": fact.document})
            rows += [{"text": sentence} for sentence in _sentence_paraphrases(fact, paraphrases)]
        else:
            rows.append({"messages": fact.messages()})
            rows += [
                {"messages": replace(fact, question=question).messages()}
                for question in training_paraphrases(fact, paraphrases)
                or (reworded or {}).get(fact.question, [])
            ]
    return rows


def _sentence_paraphrases(fact: Fact, count: int) -> list[str]:
    number = first_number(fact.answer)
    if not fact.subject or number is None:
        return []
    return [
        SENTENCE_PARAPHRASES[i % len(SENTENCE_PARAPHRASES)].format(subject=fact.subject, number=number)
        for i in range(count)
    ]

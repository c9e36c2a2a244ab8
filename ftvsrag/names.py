"""Names other tools read, defined once: the question splits and the built-in arms, as
results.json and answers.jsonl write them."""

TRAIN, PARAPHRASE, UPDATED, GENERAL = "train", "paraphrase", "updated", "general"
SPLITS = (TRAIN, PARAPHRASE, UPDATED)
"""The evaluated question sets, in report order (GENERAL is the forgetting probe's)."""

BASE, FT, RAG, FT_RAG, READER_RAG = "base", "ft", "rag", "ft+rag", "reader+rag"
"""The built-in arms (ftvsrag/arms.py defines them)."""

NO_ADAPTER, NO_RETRIEVER = "none", "none"
"""An arm answered by the base model; an arm asked closed book."""
FT_ADAPTER, READER_ADAPTER = "ft", "reader"
"""The knowledge fine-tune (the recipe `train.method` names) and the context reader."""

CLOSED_BOOK, FINE_TUNE, RETRIEVAL, FINE_TUNE_RETRIEVAL = (
    "closed book",
    "fine-tune",
    "retrieval",
    "fine-tune + retrieval",
)
"""What an arm brings to the question, as the verdict weighs it: nothing beyond the model (the base
model, or a skill such as reading, closed book), knowledge trained into the weights, retrieved
passages (read by the base model or a reader), or both."""


def role_of(knowledge_adapter: bool, retrieves: bool) -> str:
    """An arm's role from whether its adapter was trained on the knowledge (`ft` or a knowledge
    recipe; a reader learns to read, not the facts) and whether it retrieves."""
    if knowledge_adapter:
        return FINE_TUNE_RETRIEVAL if retrieves else FINE_TUNE
    return RETRIEVAL if retrieves else CLOSED_BOOK

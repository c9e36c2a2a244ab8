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

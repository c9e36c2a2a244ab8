"""The reading ceiling: how many questions had an answer alias among the passages of their prompt."""

from ftvsrag.eval.report import ceiling_lines
from ftvsrag.eval.results import answer_in_context


def _row(passages, aliases):
    return {"retrieved_texts": passages, "aliases": aliases}


def test_an_alias_as_whole_words_in_any_passage_counts():
    rows = [
        _row(["He was a Canadian politician.", "Born in 1901."], ["politician"]),
        _row(["She is an actress and singer."], ["actor", "actress"]),
        _row(["A footballer from Leeds."], ["football"]),  # not whole words: the reader must infer
        _row(["Nothing about it."], ["judge"]),
    ]
    assert answer_in_context(rows) == 0.5


def test_closed_book_and_numeric_questions_have_no_ceiling():
    assert answer_in_context([{"retrieved_texts": [], "aliases": ["x"]}]) is None
    assert answer_in_context([_row(["City_1 has about 5 inhabitants."], [])]) is None


def test_the_report_lists_each_retrieving_arm():
    results = {"arms": {"rag": {"train": {"answer_in_context": 0.8429}}, "ft": {"train": {}}}}
    assert ceiling_lines(results).endswith("- `train`, rag: 84.3 %")

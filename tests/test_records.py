"""answers.jsonl records: a dataclass with a JSON round trip, scores flat beside the other fields."""

from ftvsrag.eval.records import AnswerRecord, rescore


def _record() -> AnswerRecord:
    return AnswerRecord(
        arm="rag",
        split="train",
        seed=0,
        id="fact-00006",
        question="What is the population of City_7?",
        gold="City_7 has about 3355756 inhabitants.",
        messages=[{"role": "user", "content": "QUESTION: What is the population of City_7?"}],
        output="City_7 has about 3355756 inhabitants.",
        prompt_tokens=190,
        retriever="dense",
        retrieved_ids=["fact-00076", "fact-00006"],
        retrieved_texts=["City_77 has about 1 inhabitants.", "City_7 has about 3355756 inhabitants."],
    ).scored()


def test_a_record_round_trips_through_json_with_its_scores_flat():
    record = _record()
    line = record.to_json()
    assert line["correct"] is True and line["extracted_strict"] == 3355756 and "scores" not in line
    assert line["messages"][0]["content"].startswith("QUESTION:")
    assert AnswerRecord.from_json(line) == record


def test_rescoring_recomputes_the_scores_from_output_and_gold():
    stale = {**_record().to_json(), "correct": False, "extracted_strict": 1}
    assert rescore([stale]) == [_record().to_json()]

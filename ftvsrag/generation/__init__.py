"""Generation in one place: batched greedy decoding, the answering stage and its models."""

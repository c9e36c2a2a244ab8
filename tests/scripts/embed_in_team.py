"""Run under torchrun with 2 processes: the leader embeds texts shared out over the team, then the
same texts alone, and saves both (and each process's batch count) to the .npz named on the line."""

import sys

import numpy as np

from ftvsrag.rag.embeddings import EMBED_BATCH, Embedder, length_batches
from ftvsrag.team import join_team, serve

team = join_team(cpu=True, timeout_s=120)
if not team.leads:
    serve(team)
    sys.exit(0)
texts = [
    f"City_{i} has about {37 * i} inhabitants." + " and more" * (i % 9) for i in range(3 * EMBED_BATCH + 5)
]
shared = Embedder("all-minilm-l6-v2", "cpu", team)(texts)
team.dismiss(failed=False)
alone = Embedder("all-minilm-l6-v2")(texts)
np.savez(sys.argv[1], shared=np.stack(shared), alone=np.stack(alone), batches=len(length_batches(texts)))

"""A general-knowledge probe written for this repo: short, unambiguous questions asked before and
after the knowledge fine-tune, to see what the fine-tune costs the model elsewhere (forgetting)."""

from __future__ import annotations

from ftvsrag.knowledge.questions import Question
from ftvsrag.names import GENERAL

# (question, accepted answers). An answer counts when one accepted answer appears in it as whole words
# (eval/extract.py: contains_accepted).
# Written as 60 candidates; the 10 that SmolLM2-135M-Instruct answered confidently wrong (e.g. "the
# capital of the United States is New York City") were dropped so that the probe measures knowledge
# the base model has. The base model answered 37 of these 50 right when this list was made.
GENERAL_KNOWLEDGE: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("What is the capital of France?", ("Paris",)),
    ("What is the capital of Japan?", ("Tokyo",)),
    ("What is the capital of Italy?", ("Rome",)),
    ("What is the capital of Germany?", ("Berlin",)),
    ("What is the capital of England?", ("London",)),
    ("What is the capital of Russia?", ("Moscow",)),
    ("What is the capital of China?", ("Beijing",)),
    ("What is the capital of Egypt?", ("Cairo",)),
    ("What is the capital of Canada?", ("Ottawa",)),
    ("What is the capital of Australia?", ("Canberra",)),
    ("What is the capital of Greece?", ("Athens",)),
    ("Which planet is known as the Red Planet?", ("Mars",)),
    ("What natural satellite orbits the Earth?", ("Moon",)),
    ("What is the chemical symbol for water?", ("H2O",)),
    ("What is the chemical symbol for gold?", ("Au",)),
    ("What gas do plants absorb from the air for photosynthesis?", ("carbon dioxide", "CO2")),
    ("What gas do humans need to breathe to live?", ("oxygen",)),
    ("At what temperature in degrees Celsius does water freeze?", ("0", "zero")),
    ("At what temperature in degrees Celsius does water boil?", ("100",)),
    ("How many days are in a week?", ("7", "seven")),
    ("How many months are in a year?", ("12", "twelve")),
    ("How many hours are in a day?", ("24", "twenty-four")),
    ("How many minutes are in an hour?", ("60", "sixty")),
    ("How many legs does a spider have?", ("8", "eight")),
    ("How many legs does an insect have?", ("6", "six")),
    ("What is 2 plus 2?", ("4", "four")),
    ("What is 10 times 10?", ("100",)),
    ("What is 5 plus 3?", ("8", "eight")),
    ("What is 9 minus 4?", ("5", "five")),
    ("What color is the sky on a clear day?", ("blue",)),
    ("What color is grass?", ("green",)),
    ("What color are ripe bananas?", ("yellow",)),
    ("What is the largest ocean on Earth?", ("Pacific",)),
    ("What is the longest river in Africa?", ("Nile",)),
    ("What is the tallest mountain in the world?", ("Everest",)),
    ("What is the largest mammal on Earth?", ("blue whale", "whale")),
    ("What do bees make?", ("honey",)),
    ("Who wrote 'Romeo and Juliet'?", ("Shakespeare",)),
    ("Who painted the Mona Lisa?", ("Leonardo", "da Vinci")),
    ("Who developed the theory of relativity?", ("Einstein",)),
    ("What language is mainly spoken in Brazil?", ("Portuguese",)),
    ("What is the currency of Japan?", ("yen",)),
    ("What is the currency of the United Kingdom?", ("pound",)),
    ("What is the hardest natural substance?", ("diamond",)),
    ("What organ pumps blood through the human body?", ("heart",)),
    ("How many sides does a triangle have?", ("3", "three")),
    ("How many sides does a square have?", ("4", "four")),
    ("What is the opposite of hot?", ("cold",)),
    ("What is the main ingredient of guacamole?", ("avocado",)),
    ("In which country are the pyramids of Giza?", ("Egypt",)),
)


def general_questions(system: str = "") -> list[Question]:
    return [
        Question(f"general-{i:03d}", GENERAL, question, answers[0], system)
        for i, (question, answers) in enumerate(GENERAL_KNOWLEDGE)
    ]


def accepted_answers(question_id: str) -> tuple[str, ...]:
    return GENERAL_KNOWLEDGE[int(question_id.rsplit("-", 1)[1])][1]

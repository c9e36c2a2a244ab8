"""README and docs/ cannot drift from the code: every link resolves, every `ftvsrag …` command parses
with the real CLI and its config and overrides validate, and the lists they give come from the
registries. No model is loaded."""

import re
import shlex
from pathlib import Path

import pytest

from ftvsrag.cli import _parse, _parser
from ftvsrag.components import components, components_table
from ftvsrag.config import load_config
from ftvsrag.sweep import load_sweep_config

ROOT = Path(__file__).parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
PLACEHOLDER_CONFIGS = {"CONFIG"}
_LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
_FENCE = re.compile(r"^```[^\n]*\n(.*?)^```", re.M | re.S)
_SPAN = re.compile(r"`(ftvsrag [^`]+)`")


def anchors(page: Path) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces as hyphens."""
    headings = re.findall(r"^#+ (.+)$", _FENCE.sub("", page.read_text(encoding="utf-8")), re.M)
    return {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-") for h in headings}


def links() -> list[tuple[Path, str]]:
    return [
        (page, target)
        for page in PAGES
        for target in _LINK.findall(_FENCE.sub("", page.read_text(encoding="utf-8")))
        if not re.match(r"[a-z]+:", target)
    ]


@pytest.mark.parametrize(("page", "target"), links(), ids=lambda value: str(value)[-40:])
def test_every_link_points_at_something(page, target):
    path, _, anchor = target.partition("#")
    linked = (page.parent / path).resolve() if path else page
    assert linked.exists(), f"{page.name}: {target} points at nothing"
    if anchor:
        assert anchor in anchors(linked), f"{page.name}: no heading #{anchor} in {linked.name}"


def commands() -> list[tuple[str, str]]:
    """Every `ftvsrag …` command: a line of a code block, or an inline code span (which may run
    over a line break); a span that only names a command (`ftvsrag report`) is not one."""
    found = []
    for page in PAGES:
        text = page.read_text(encoding="utf-8")
        for block in _FENCE.findall(text):
            found += [(page.name, re.split(r"\s+#\s", line)[0].strip()) for line in block.splitlines()]
        found += [(page.name, " ".join(span.split())) for span in _SPAN.findall(_FENCE.sub("", text))]
    return [(name, line) for name, line in found if line.startswith("ftvsrag ") and len(line.split()) > 2]


@pytest.mark.parametrize(("page", "command"), commands(), ids=lambda value: value[:60])
def test_every_documented_command_parses_and_its_config_validates(page, command, capsys):
    argv = shlex.split(command)[1:]
    try:
        args = _parse(_parser(), argv)
    except SystemExit as stop:
        assert stop.code == 0 and "--help" in argv, f"{page}: `{command}` does not parse"
        return
    config = getattr(args, "config", None)
    if config is None or str(config) in PLACEHOLDER_CONFIGS:
        return
    path = ROOT / config
    load = load_sweep_config if argv[0] == "sweep" else load_config
    load(path, args.overrides)  # a misspelt key, a wrong type or a missing file is a UserInputError


def test_the_documented_commands_are_found():
    found = {command for _, command in commands()}
    assert "ftvsrag run configs/cities.yaml --force train:ft" in found  # a README code block
    assert any(
        c.startswith('ftvsrag sweep configs/sweep_documents.yaml "grid.methods=[qa-gen]"') for c in found
    )
    assert len(found) >= 30


def test_a_misspelt_override_in_a_documented_command_would_fail():
    from ftvsrag.errors import UserInputError

    with pytest.raises(UserInputError, match=r"train\.epoch"):
        load_config(ROOT / "configs/cities.yaml", ["train.epoch=3"])


def test_readme_is_short_and_starts_with_the_two_commands():
    lines = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    assert len(lines) <= 250
    head = "\n".join(lines[:100])
    assert "make run " in head and "make test " in head and "## Your own data" in head


def test_readmes_extending_table_is_the_registries():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    table = text.split("<!-- components -->\n")[1].split("\n<!-- /components -->")[0]
    assert table == components_table(), (
        "regenerate it: python -c 'from ftvsrag.components import components_table as t; print(t())'"
    )


def test_help_lists_come_from_the_registries(capsys):
    from ftvsrag.stages import forceable
    from ftvsrag.train.config import TrainSettings
    from ftvsrag.train.recipes import RECIPES, knowledge_recipes

    with pytest.raises(SystemExit):
        _parse(_parser(), ["run", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    for stage in forceable(["ft", *RECIPES.names()]):
        assert stage in help_text
    assert "train:held-out" in help_text and "train:generate" not in help_text
    for group in components():
        assert f"{group.config_key}: {', '.join(group.names)}" in help_text
    method_help = TrainSettings.__dataclass_fields__["method"].metadata["help"]
    for recipe in knowledge_recipes():
        assert f"'{recipe}'" in method_help

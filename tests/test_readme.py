"""The documentation's promises stay true: the config reference, the test command, every step
documented, and every relative link and anchor of README.md and docs/*.md resolving."""
import re
from pathlib import Path

from lib.config import config_reference
from lib.pipeline import all_steps

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
DOCS = ROOT / "docs"


def _doc(name: str) -> str:
    return (DOCS / name).read_text(encoding="utf-8")


def test_config_reference_in_docs_is_the_schema():
    text = _doc("configuration.md")
    block = text.split("<!-- config-reference:start -->")[1].split("<!-- config-reference:end -->")[0]
    assert block.strip() == config_reference().strip()


def test_ci_runs_exactly_the_readme_test_command():
    quick_start = README.split("## Quick start")[1].split("##")[0]
    assert "python scripts/run_all.py --demo\npython -m pytest\n" in quick_start
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").strip().splitlines()
    assert ci[-1] == "python -m pytest"


def test_every_step_is_documented():
    steps = _doc("steps.md").split("\n## Steps\n")[1].split("\n#")[0]
    for step in all_steps():
        assert f"`{step.name}`" in steps


def _outside_code(text: str) -> list[str]:
    """The lines of a Markdown file outside fenced code blocks."""
    lines, fence = [], False
    for line in text.splitlines():
        if line.startswith("```"):
            fence = not fence
            continue
        if not fence:
            lines.append(line)
    return lines


def github_anchor(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces to '-'."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    found, seen = set(), {}
    for line in _outside_code(path.read_text(encoding="utf-8")):
        match = re.match(r"#{1,6} (.+)", line)
        if match:
            anchor = github_anchor(match.group(1))
            count = seen.get(anchor, 0)
            seen[anchor] = count + 1
            found.add(anchor if count == 0 else f"{anchor}-{count}")
    return found


def test_github_anchor():
    assert github_anchor("Rerunning, interrupted runs and locks") == "rerunning-interrupted-runs-and-locks"
    assert github_anchor("The report's sources") == "the-reports-sources"
    assert github_anchor("What public documentation confirms, and what is assumed") == \
        "what-public-documentation-confirms-and-what-is-assumed"


def test_every_relative_link_and_anchor_resolves():
    files = [ROOT / "README.md", *sorted(DOCS.glob("*.md"))]
    assert len(files) > 5
    broken, checked = [], 0
    for path in files:
        text = "\n".join(_outside_code(path.read_text(encoding="utf-8")))
        text = re.sub(r"`[^`]*`", "", text)  # inline code is no link
        for target in re.findall(r"\]\(([^)\s]+)\)", text):
            if re.match(r"[a-z]+:", target):
                continue
            checked += 1
            file_part, _, anchor = target.partition("#")
            linked = (path.parent / file_part).resolve() if file_part else path
            if not linked.exists():
                broken.append(f"{path.relative_to(ROOT)}: {target} (no such file)")
            elif anchor and (linked.suffix != ".md" or anchor not in anchors(linked)):
                broken.append(f"{path.relative_to(ROOT)}: {target} (no such anchor)")
    assert checked > 20
    assert not broken, "\n".join(broken)

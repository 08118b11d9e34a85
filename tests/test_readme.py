"""README opens with the two commands a newcomer copies; CI runs the second one verbatim."""

import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parents[1]


def readme_commands():
    text = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```(?:bash|sh)?\n(.*?)```", text, re.S)
    return [line.strip() for block in blocks[:2] for line in block.strip().splitlines()]


def test_readme_opens_with_two_commands():
    commands = readme_commands()
    assert len(commands) == 2, commands
    run_example, run_tests = commands
    assert "pip install" in run_example and "examples/" in run_example
    assert "pip install" in run_tests and "pytest" in run_tests


def test_ci_runs_the_readme_test_command_verbatim():
    ci = (ROOT / ".ci" / "run").read_text()
    assert readme_commands()[1] in ci.splitlines()


def test_readme_example_exists():
    script = re.search(r"python (examples/\S+\.py)", readme_commands()[0]).group(1)
    assert (ROOT / script).is_file()

from tests.support import ROOT

RUN_COMMAND = "python3.11 -m venv .venv && .venv/bin/pip install -e . && .venv/bin/secretstore dev"


def readme_lines() -> list[str]:
    return [line.strip() for line in (ROOT / "README.md").read_text().splitlines()]


def test_ci_runs_exactly_the_readme_test_command() -> None:
    ci_script = (ROOT / ".ci" / "run").read_text().splitlines()
    commands = [line for line in ci_script if line.startswith("python3.11 -m venv")]

    assert len(commands) == 1
    assert commands[0] in readme_lines()


def test_readme_gives_the_run_command() -> None:
    assert RUN_COMMAND in readme_lines()

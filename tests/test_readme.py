"""The README against what CI runs and what the pipeline wrote."""

import re
import subprocess

from tests.conftest import PROJECT

README = (PROJECT / "README.md").read_text()


def test_ci_runs_the_readme_commands():
    block = re.search(r"<!-- commands.*?-->\n```bash\n(.*?)```\n<!-- /commands -->", README, re.S)[1]
    printed = subprocess.run([str(PROJECT / ".ci/run"), "--print"], capture_output=True, text=True, check=True).stdout
    assert printed == block
    setup, main_job, tests = block.splitlines()
    assert setup == "./setup.sh" and main_job.endswith(".venv/bin/dvc repro") and "pytest" in tests


def test_the_headline_is_the_report_stage_s():
    included = re.search(r"<!-- headline.*?-->\n(.*?)<!-- /headline -->", README, re.S)[1]
    assert included == (PROJECT / "docs/results/headline.md").read_text(), "copy docs/results/headline.md into README.md's headline block"


def test_readme_is_short():
    assert len(README.splitlines()) <= 300

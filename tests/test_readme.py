"""The README's Python example runs as written and trains an embedding better than chance."""

import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def python_blocks():
    return re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


def test_readme_has_one_python_example():
    assert len(python_blocks()) == 1


def test_readme_example_runs(capsys):
    namespace = {}
    exec(compile(python_blocks()[0], str(README), "exec"), namespace)  # noqa: S102
    printed = capsys.readouterr().out
    assert "precision_at_1" in printed
    metrics = namespace["retrieval_metrics"](namespace["embed"](namespace["model"], namespace["data"].x_test),
                                             namespace["data"].y_test)
    assert metrics["precision_at_1"] > 0.8  # chance is 0.1; 5 epochs gave 0.929 on the offline subset

"""tools/train_bake.py: the meta it writes about where a run started."""
import sys
from pathlib import Path

import pytest

pytest.importorskip("torch")
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))
from train_bake import weights_of  # noqa: E402


def test_init_says_weights_of_once():
    assert weights_of("train_state/x/last.pt") == "weights of train_state/x/last.pt"
    # a re-bake passes the shipped file's own 'init' back in: it must not grow a prefix each time
    assert weights_of("weights of weights of the run at 20,000") == "weights of the run at 20,000"
    assert weights_of(weights_of("a")) == weights_of("a")

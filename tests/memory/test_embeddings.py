"""Embeddings: the bundled offline model (lazy, batched, normalised) and any function in LangGraph's index
shape, cached by content hash."""

from __future__ import annotations

import numpy as np
import pytest

from agentflow.exceptions import ConfigError
from agentflow.memory import Embedder, MiniLM, default_index

pytestmark = pytest.mark.anyio


def test_minilm_meaning_and_batching() -> None:
    """Paraphrases are closer than unrelated sentences; a text's vector does not depend on its batch; long
    texts are cut, not refused."""
    pytest.importorskip("onnxruntime", reason="needs the memory extra")
    model = MiniLM(threads=1)
    texts = ["I like tea", "Tea is my favourite drink", "The stock market fell today", "word " * 600]
    vectors = model.embed(texts)
    assert vectors.shape == (4, 384) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    assert vectors[0] @ vectors[1] > 0.7 > 0.2 > vectors[0] @ vectors[2]
    alone = model.embed(["Tea is my favourite drink"])[0]
    assert float(alone @ vectors[1]) > 0.999
    assert model.embed_query("I like tea") == pytest.approx(vectors[0].tolist(), abs=1e-4)


async def test_embedder_caches_by_content_and_checks_dims() -> None:
    """A text is embedded once per process (content hash); vectors are unit length; a wrong width is a
    ConfigError naming the model and the shapes."""
    calls: list[list[str]] = []

    def embed(texts: list[str]) -> list[list[float]]:
        calls.append(list(texts))
        return [[float(len(t)), 1.0, 0.0] for t in texts]

    embedder = Embedder({"dims": 3, "embed": embed, "model_id": "len"})
    first = await embedder.aembed(["ab", "abcd", "ab"])
    again = await embedder.aembed(["abcd", "xyz"])
    assert calls == [["ab", "abcd"], ["xyz"]]
    assert np.allclose(np.linalg.norm(first, axis=1), 1.0) and np.allclose(first[1], again[0])
    assert embedder.model_id == "len" and embedder.dims == 3
    wrong = Embedder({"dims": 5, "embed": embed, "model_id": "len"})
    with pytest.raises(ConfigError, match=r"len: expected 1 vectors of 5 dims .*\(1, 3\)"):
        await wrong.aembed(["q"])


async def test_async_functions_and_langchain_style_objects() -> None:
    """An async function and an object with embed_documents both work; the model id comes from the object."""

    async def aembed(texts: list[str]) -> list[list[float]]:
        return [[1.0, 0.0] for _ in texts]

    class Embeddings:
        model = "tiny-2d"

        def embed_documents(self, texts: list[str]) -> list[list[float]]:
            return [[0.0, 2.0] for _ in texts]

    assert (await Embedder({"dims": 2, "embed": aembed}).aembed(["x"])).tolist() == [[1.0, 0.0]]
    by_object = Embedder({"dims": 2, "embed": Embeddings()})
    assert (await by_object.aembed(["x"])).tolist() == [[0.0, 1.0]]
    assert by_object.model_id == "Embeddings:tiny-2d"
    assert Embedder({"dims": 2, "embed": aembed}).model_id.endswith("aembed")


def test_default_index_and_field_paths() -> None:
    """The default index names the bundled model; texts are taken at LangGraph's field paths."""
    assert default_index() == {"dims": 384, "embed": "agentflow:minilm", "fields": ["text"]}
    embedder = Embedder(
        {"dims": 2, "embed": lambda texts: [[1.0, 0.0]] * len(texts), "fields": ["a.b", "items[*].t"]}
    )
    value = {"a": {"b": "deep"}, "items": [{"t": "one"}, {"t": "two"}]}
    assert embedder.texts_of(value) == [("a.b", "deep"), ("items[*].t.0", "one"), ("items[*].t.1", "two")]
    assert embedder.texts_of(value, ["a.b"]) == [("a.b", "deep")]

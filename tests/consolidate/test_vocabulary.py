"""`pumas edit --set` accepts every name identification publishes, and only a typo needs --force."""

from __future__ import annotations

import pytest

from pumasfs.base.errors import PumasError
from pumasfs.identify import vocab
from pumasfs.store.library import Library
from pumasfs.store.metadata import check_vocabulary, known_vocabulary

from ..materializer.conftest import add_model


def test_the_vocabulary_is_identifications_own() -> None:
    known = known_vocabulary()
    assert set(vocab.FAMILIES) <= known["family"]
    assert set(vocab.SUBTYPES) == known["subtype"]
    assert set(vocab.MODEL_TYPES) == known["model_type"]
    for family in vocab.FAMILIES:
        check_vocabulary({"family": family})
    with pytest.raises(PumasError, match="unknown family 'wann'"):
        check_vocabulary({"family": "wann"})


@pytest.mark.parametrize("family", [vocab.WAN, vocab.MOCHI, vocab.COSMOS])
def test_edit_sets_a_published_family_without_force(pumas, library: Library, family: str) -> None:
    add_model(library, "some-video-model", family="sd1")
    library.close()
    out = pumas("edit", "some-video-model", "--set", f"family={family}").stdout
    assert f"diffusion/{family}/some-video-model" in out

"""The yaml editor: our section in, out and replaced, with every other byte unchanged."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
import yaml

from pumasfs.planning import extra_paths
from pumasfs.planning.extra_paths import ExtraPathsError, drop_section, remove_section, set_section, write_section

# A user's file as people write them: comments above sections, a commented-out
# section, a `|` block, odd spacing, no blank line at the end.
USER_YAML = """\
#Rename this to extra_model_paths.yaml and ComfyUI will load it


#config for a1111 ui
#all you have to do is change the base_path to where yours is installed
a111:
    base_path: /mnt/sd/stable-diffusion-webui/

    checkpoints: models/Stable-diffusion
    vae: models/VAE
    loras: |
         models/Lora
         models/LyCORIS
    # the upscalers are on the share too
    upscale_models: models/ESRGAN

#comfyui:
#     base_path: path/to/comfyui/
#     checkpoints: models/checkpoints/

nas:   # my network share
  base_path: /net/nas/models
  is_default: true
  checkpoints: ckpt"""

FOLDERS = {"checkpoints": ["checkpoints"], "controlnet": ["controlnet", "t2i_adapter"],
           "text_encoders": ["clip"]}


def _user_sections(text: str) -> dict:
    data = yaml.safe_load(text) or {}
    data.pop("pumas", None)
    return data


@pytest.mark.parametrize("original", [USER_YAML, USER_YAML + "\n", USER_YAML + "\n\n", "", "# only a comment\n",
                                      USER_YAML.replace("\n", "\r\n") + "\r\n"])
def test_add_then_remove_gives_back_the_same_bytes(original: str) -> None:
    block = extra_paths.render_section("/lib/trees/comfyui", FOLDERS, note="managed by pumas",
                                       newline="\r\n" if "\r\n" in original else "\n")
    want = extra_paths.expected_value("/lib/trees/comfyui", FOLDERS)
    added, joiner = set_section(original, block, want)
    assert added.startswith(original)  # appended: nothing before it moved
    assert yaml.safe_load(added)["pumas"] == want
    assert _user_sections(added) == _user_sections(original)
    assert list(yaml.safe_load(added))[-1] == "pumas"
    assert remove_section(added, joiner) == original


def test_replace_in_place_keeps_position_and_neighbours() -> None:
    start, _ = set_section(USER_YAML + "\n", extra_paths.render_section("/old", FOLDERS),
                           extra_paths.expected_value("/old", FOLDERS))
    # The user moves our section between theirs and adds a comment right below it.
    a, rest = start.split("#comfyui:", 1)
    ours_at = rest.index("pumas:")
    ours = rest[ours_at:]
    middle = a + ours + "# my note about nas, keep me\n\n#comfyui:" + rest[:ours_at]
    new_folders = {"checkpoints": ["checkpoints"], "loras": ["loras"]}
    out, joiner = set_section(middle, extra_paths.render_section("/new", new_folders),
                              extra_paths.expected_value("/new", new_folders))
    assert joiner == ""
    before, after = middle.split(ours, 1)
    assert out.startswith(before) and out.endswith(after)
    assert "# my note about nas, keep me\n" in out
    assert yaml.safe_load(out)["pumas"] == {"base_path": "/new", "checkpoints": "checkpoints", "loras": "loras"}
    assert list(yaml.safe_load(out)) == ["a111", "pumas", "nas"]
    # Removing it from the middle leaves the user's text around it intact.
    removed = remove_section(out, "")
    assert removed == before + after


def test_multiline_values_and_quoting_read_back_as_comfyui_splits_them() -> None:
    folders = {"controlnet": ["controlnet", "t2i_adapter"], "odd key": ["a folder: with colon", "#hash"]}
    base = "/lib/my trees/#1: comfy"
    block = extra_paths.render_section(base, folders)
    text, _ = set_section("", block, extra_paths.expected_value(base, folders))
    section = yaml.safe_load(text)["pumas"]
    assert section["base_path"] == base
    assert [y for y in section["controlnet"].split("\n") if y] == ["controlnet", "t2i_adapter"]
    assert [y for y in section["odd key"].split("\n") if y] == ["a folder: with colon", "#hash"]


@pytest.mark.parametrize("bad", [
    "a111:\n  base_path: x\n checkpoints: [unclosed\n",
    "a111: {base_path: x\n",
    "\tfoo: bar\n",
    "- a list\n- not sections\n",
])
def test_invalid_yaml_is_refused_and_left_untouched(tmp_path: Path, bad: str) -> None:
    path = tmp_path / "extra_model_paths.yaml"
    path.write_text(bad)
    before = path.stat()
    with pytest.raises(ExtraPathsError) as e:
        write_section(path, "/t", FOLDERS)
    assert "\n" not in e.value.message and "left untouched" in e.value.message
    assert path.read_text() == bad
    assert path.stat().st_mtime_ns == before.st_mtime_ns and path.stat().st_ino == before.st_ino
    assert [p.name for p in tmp_path.iterdir()] == ["extra_model_paths.yaml"]  # no temp file left


def test_two_pumas_sections_are_refused() -> None:
    text = "pumas:\n  base_path: /a\nother:\n  base_path: /b\npumas:\n  base_path: /c\n"
    with pytest.raises(ExtraPathsError, match="2 'pumas' sections"):
        set_section(text, extra_paths.render_section("/t", FOLDERS), extra_paths.expected_value("/t", FOLDERS))


def test_a_layout_that_cannot_be_edited_textually_is_refused() -> None:
    # A flow mapping spread over lines at column 0: editing lines would cut it.
    text = "pumas: {base_path: /a,\nchk: b}\nnas:\n  base_path: /n\n"
    assert yaml.safe_load(text)  # valid YAML
    with pytest.raises(ExtraPathsError, match="cannot edit"):
        set_section(text, extra_paths.render_section("/t", FOLDERS), extra_paths.expected_value("/t", FOLDERS))


def test_file_we_created_is_deleted_when_empty_and_kept_otherwise(tmp_path: Path) -> None:
    path = tmp_path / "extra_model_paths.yaml"
    edit = write_section(path, "/t", FOLDERS)
    assert edit.created and path.exists()
    assert drop_section(path, created=True, joiner=edit.joiner).deleted
    assert not path.exists()
    # Created by us, then the user added a section of their own: only ours goes.
    edit = write_section(path, "/t", FOLDERS)
    with open(path, "a") as f:
        f.write("\nmine:\n  base_path: /m\n  loras: l\n")
    res = drop_section(path, created=True, joiner=edit.joiner)
    assert not res.deleted and path.read_text() == "\nmine:\n  base_path: /m\n  loras: l\n"


def test_write_keeps_mode_owner_and_follows_a_symlinked_yaml(tmp_path: Path) -> None:
    real = tmp_path / "configs" / "comfy.yaml"
    real.parent.mkdir()
    real.write_text(USER_YAML)
    os.chmod(real, 0o600)
    if os.geteuid() == 0:
        os.chown(real, 1234, 1234)
    link = tmp_path / "extra_model_paths.yaml"
    link.symlink_to(real)
    edit = write_section(link, "/t", FOLDERS)
    assert link.is_symlink() and edit.path == real
    st = real.stat()
    assert stat.S_IMODE(st.st_mode) == 0o600
    if os.geteuid() == 0:
        assert (st.st_uid, st.st_gid) == (1234, 1234)
    assert real.read_text().startswith(USER_YAML)
    again = write_section(link, "/t", FOLDERS)
    assert not again.changed  # same section: the file is not rewritten


def test_not_utf8_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "extra_model_paths.yaml"
    path.write_bytes(b"a111:\n  base_path: /caf\xe9\n")
    with pytest.raises(ExtraPathsError, match="not UTF-8"):
        write_section(path, "/t", FOLDERS)
    assert path.read_bytes() == b"a111:\n  base_path: /caf\xe9\n"

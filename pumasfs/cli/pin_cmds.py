"""`pumas pin` / `pumas unpin`: a model at an exact path in one install."""

from __future__ import annotations

import click

from pumasfs.cli.output import CliReporter, echo_json
from pumasfs.cli.state import State, pass_state
from pumasfs.usecases.pins import pin_model, unpin_model


@click.command("pin")
@click.argument("model")
@click.argument("app")
@click.argument("path")
@click.option("--json", "as_json", is_flag=True, help="Print the model's pins as JSON.")
@pass_state
def pin(state: State, model: str, app: str, path: str, as_json: bool) -> None:
    """Place MODEL at PATH in install APP instead of where the map puts it.

    PATH is relative to the app's models folder.  The model is then linked
    there (and not also at the map's place) in that install; other installs
    still follow their map.

    \b
    Examples:
      pumas pin foo-character-v2 comfyui loras/sdxl/characters/foo_character_v2.safetensors
      pumas pin lmstudio-model lmstudio TheBloke/Mistral-GGUF/mistral.Q4_K_M.gguf
    """
    with CliReporter(bar=False, warnings=not as_json) as reporter:
        meta, _ = pin_model(state, model, app, path, reporter=reporter)
    if as_json:
        echo_json([p.model_dump(mode="json") for p in meta.pins])
    else:
        click.echo(f"pinned {meta.model_id} at {app}: {path}")


@click.command("unpin")
@click.argument("model")
@click.argument("app")
@click.argument("path", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print the pins removed as JSON.")
@pass_state
def unpin(state: State, model: str, app: str, path: str | None, as_json: bool) -> None:
    """Drop MODEL's pin(s) in APP: the map places it there from then on.

    \b
    Examples:
      pumas unpin foo-character-v2 comfyui
      pumas unpin foo-character-v2 comfyui loras/old/foo.safetensors
    """
    with CliReporter(bar=False, warnings=not as_json) as reporter:
        meta, gone, _ = unpin_model(state, model, app, path, reporter=reporter)
    if as_json:
        echo_json([p.model_dump(mode="json") for p in gone])
    else:
        for p in gone:
            click.echo(f"unpinned {meta.model_id} from {app}: {p.path}")

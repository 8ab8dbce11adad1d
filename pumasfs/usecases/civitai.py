"""CivitAI use cases: settings, manual links, updates, lookups and downloads.

Each takes the :class:`Workspace` first and returns a typed result; the CLI
(``cli/civitai_cmds.py``, and ``pumas download civitai:...``) only prints it.
A token is never part of a result.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from pumasfs.base.errors import PumasError
from pumasfs.base.progress import NULL_REPORTER, Reporter
from pumasfs.usecases.after_change import CatchUp, catch_up_apps
from pumasfs.usecases.library import resolve_model
from pumasfs.usecases.workspace import Workspace

if TYPE_CHECKING:
    from pumasfs.hub.civitai.download import CivitaiDownloadResult
    from pumasfs.hub.civitai.enrich import CivitaiOutcome, CivitaiSummary
    from pumasfs.hub.civitai.outdated import OutdatedReport
    from pumasfs.hub.civitai.settings import CivitaiSettings


@dataclass
class LinkReport:
    outcome: CivitaiOutcome
    apps: CatchUp | None  # None: nothing changed, or a dry run


@dataclass
class DownloadReport:
    result: CivitaiDownloadResult
    apps: CatchUp | None


@dataclass(frozen=True)
class ConfigValue:
    key: str
    value: str  # the token shows as "set" / "not set", never itself
    source: str  # config | environment | default


def _settings(ws: Workspace, nsfw: str | None = None) -> CivitaiSettings:
    from pumasfs.hub.civitai.config import NSFW_SETTINGS
    from pumasfs.hub.civitai.settings import CivitaiSettings

    settings = CivitaiSettings.from_env(ws.layout)
    if nsfw is not None:
        if nsfw not in NSFW_SETTINGS:
            raise PumasError(f"NSFW setting must be one of {', '.join(NSFW_SETTINGS)}, not {nsfw!r}")
        settings = replace(settings, preview_nsfw=nsfw)
    return settings


def config_keys() -> list[str]:
    from pumasfs.hub.civitai.config import KEYS

    return sorted(KEYS)


def get_config(ws: Workspace, key: str | None = None) -> list[ConfigValue]:
    """One setting, or all of them."""
    import os

    from pumasfs.hub.civitai.config import KEYS, load_config

    keys = sorted(KEYS) if key is None else [key]
    config = load_config(ws.layout)
    defaults = type(config)()
    out = []
    for k in keys:
        if k not in KEYS:
            raise PumasError(f"unknown setting {k!r} (known: {', '.join(sorted(KEYS))})")
        attr = KEYS[k]
        if attr == "api_token":
            env = bool((os.environ.get("CIVITAI_API_TOKEN") or "").strip())
            out.append(ConfigValue(k, "set" if env or config.api_token else "not set",
                                   "environment" if env else ("config" if config.api_token else "default")))
            continue
        value = getattr(config, attr)
        text = str(value).lower() if isinstance(value, bool) else str(value)
        out.append(ConfigValue(k, text, "config" if value != getattr(defaults, attr) else "default"))
    return out


def set_config(ws: Workspace, key: str, value: str, *, dry_run: bool = False) -> ConfigValue:
    from pydantic import ValidationError

    from pumasfs.hub.civitai.config import KEYS, NSFW_SETTINGS, load_config, save_config
    from pumasfs.store.metadata import validation_error_line

    if key not in KEYS:
        raise PumasError(f"unknown setting {key!r} (known: {', '.join(sorted(KEYS))})")
    attr = KEYS[key]
    config = load_config(ws.layout)
    parsed: object = value
    if attr == "api_token":
        parsed = value.strip() or None
    elif attr == "previews":
        low = value.strip().lower()
        if low not in ("true", "false", "yes", "no", "1", "0", "on", "off"):
            raise PumasError(f"{key} must be true or false, not {value!r}")
        parsed = low in ("true", "yes", "1", "on")
    elif attr == "preview_nsfw" and value not in NSFW_SETTINGS:
        raise PumasError(f"{key} must be one of {', '.join(NSFW_SETTINGS)}, not {value!r}")
    try:
        new = config.model_validate({**config.model_dump(), attr: parsed})
    except ValidationError as e:
        raise PumasError(f"invalid value for {key}: {validation_error_line(e)}") from None
    if not dry_run:
        ws.layout.config_dir.mkdir(parents=True, exist_ok=True)
        save_config(ws.layout, new)
    if attr == "api_token":
        return ConfigValue(key, "set" if parsed else "not set", "config")
    return ConfigValue(key, str(parsed).lower() if isinstance(parsed, bool) else str(parsed), "config")


def link_model(
    ws: Workspace, model: str, ref: str, *, nsfw: str | None = None, dry_run: bool = False,
    reporter: Reporter = NULL_REPORTER,
) -> LinkReport:
    """Mark ``model`` as the CivitAI version ``ref`` names ("linked by user"), then catch the apps up."""
    from pumasfs.hub.civitai.link import link_model as link
    from pumasfs.hub.civitai.refs import parse_ref

    settings = _settings(ws, nsfw)
    civ_ref = parse_ref(ref, settings.endpoint)
    lib = ws.library
    model_id = resolve_model(ws, model)
    reporter.item(model_id)
    out = link(lib, model_id, civ_ref, settings, dry_run=dry_run)
    return LinkReport(out, catch_up_apps(ws, reporter) if out.changed and not dry_run else None)


def outdated(ws: Workspace, *, reporter: Reporter = NULL_REPORTER) -> OutdatedReport:
    from pumasfs.hub.civitai.outdated import find_outdated

    report = find_outdated(ws.library, _settings(ws))
    for line in report.unavailable:
        reporter.warn(line)
    return report


def enrich(
    ws: Workspace, model_ids: list[str] | None = None, *, pending: bool = True, dry_run: bool = False,
    nsfw: str | None = None,
) -> CivitaiSummary:
    """CivitAI lookups for these models (None: every model, or only pending ones)."""
    from pumasfs.hub.civitai.enrich import enrich_civitai, pending_ids

    lib = ws.library
    if model_ids is None:
        model_ids = pending_ids(lib) if pending else lib.index.model_ids()
    return enrich_civitai(lib, model_ids, dry_run=dry_run, settings=_settings(ws, nsfw))


def download(
    ws: Workspace, ref: str, *, file: str | None = None, nsfw: str | None = None, dry_run: bool = False,
    reporter: Reporter = NULL_REPORTER,
) -> DownloadReport:
    """Fetch a CivitAI file (resumable, SHA256-checked), import it, catch the apps up."""
    from pumasfs.hub.civitai.download import download_version
    from pumasfs.hub.civitai.refs import parse_ref

    settings = _settings(ws, nsfw)
    result = download_version(ws.library, parse_ref(ref, settings.endpoint), settings, file_name=file,
                              dry_run=dry_run, reporter=reporter)
    return DownloadReport(result, catch_up_apps(ws, reporter) if result.changed and not dry_run else None)

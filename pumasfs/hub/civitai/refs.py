"""What a user may type to name something on CivitAI.

* ``civitai:VERSION_ID`` (``civitai:MODEL@VERSION`` too)
* a page URL: ``https://civitai.com/models/4201/name?modelVersionId=130072``
  (no ``modelVersionId``: the model's newest version)
* a download URL: ``https://civitai.com/api/download/models/130072``
* an AIR: ``urn:air:sdxl:lora:civitai:4201@130072`` (no ``@version``: the newest)
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

from pumasfs.base.errors import PumasError

_HOSTS = {"civitai.com", "www.civitai.com", "civitai.green", "www.civitai.green"}
_AIR = re.compile(r"^urn:air:[^:]+:[^:]+:civitai:(\d+)(?:@(\d+))?(?:\.[a-z0-9]+)?$", re.IGNORECASE)
_PREFIX = re.compile(r"^civitai:(?:(\d+)@)?(\d+)$", re.IGNORECASE)


@dataclass(frozen=True)
class CivRef:
    model_id: int | None = None
    version_id: int | None = None  # None: the model's newest version

    def text(self) -> str:
        if self.version_id is not None:
            return f"civitai:{self.version_id}"
        return f"civitai model {self.model_id}"


def looks_like_ref(text: str, endpoint: str = "") -> bool:
    t = text.strip()
    if t.lower().startswith(("civitai:", "urn:air:")):
        return True
    if t.startswith(("http://", "https://")):
        host = urlsplit(t).hostname or ""
        return host in _HOSTS or (bool(endpoint) and t.startswith(endpoint.rstrip("/") + "/"))
    return False


def parse_ref(text: str, endpoint: str = "") -> CivRef:
    t = text.strip()
    if m := _PREFIX.match(t):
        return CivRef(int(m.group(1)) if m.group(1) else None, int(m.group(2)))
    if m := _AIR.match(t):
        return CivRef(int(m.group(1)), int(m.group(2)) if m.group(2) else None)
    if looks_like_ref(t, endpoint) and t.startswith(("http://", "https://")):
        parts = urlsplit(t)
        query = parse_qs(parts.query)
        version = (query.get("modelVersionId") or [""])[0]
        path = parts.path.rstrip("/")
        if m := re.match(r"^/api/download/models/(\d+)$", path):
            return CivRef(None, int(m.group(1)))
        if m := re.match(r"^/(?:api/v1/)?model-versions/(\d+)$", path):
            return CivRef(None, int(m.group(1)))
        if m := re.match(r"^/models/(\d+)(?:/[^/]*)?$", path):
            return CivRef(int(m.group(1)), int(version) if version and version.isdigit() else None)
    raise PumasError(
        f"{text!r} is not a CivitAI reference (expected civitai:VERSION_ID, a civitai.com model or "
        "download URL, or an AIR such as urn:air:sdxl:lora:civitai:MODEL@VERSION)"
    )

"""Which hub repo a model came from, and how sure we are.

The hub has no search by hash.  So: candidates by name (``list_models``
search on the name with its quantisation/precision/version tags stripped),
ranked with rapidfuzz, then each candidate's file list (LFS sha256 per file)
is compared with the bytes we hold.  Repos already known (a previous match, a
hub download URL, fresh cached file lists) are looked at first, for free.

Outcomes, best first:

* ``hash`` (badge *verified*): every weight file's sha256 is in the repo;
* ``filename_exact`` (*probable*): the repo has a file of that name whose
  bytes the hub does not describe (not an LFS file);
* ``filename_exact`` with badge *modified*: the repo has a file of that name,
  with other bytes (a re-save, a merge, a fine-tune);
* ``filename_fuzzy`` (*probable*): only the repo's name resembles ours;
* ``none`` (*unknown*).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from rapidfuzz import fuzz

from pumasfs.hub import names
from pumasfs.hub.badge import MODIFIED, PROBABLE, UNKNOWN, VERIFIED
from pumasfs.hub.cache import HubCache, HubFile, RepoSnapshot, SearchResult
from pumasfs.hub.client import HubClient
from pumasfs.hub.errors import HubRefused
from pumasfs.store.metadata import ModelMetadata

MAX_CANDIDATES = 3  # repos whose file list we fetch per model, beyond the known ones
MIN_SCORE = 60.0
SEARCH_LIMIT = 20
_FORMAT_WORDS = {"gguf", "ggml", "safetensors", "diffusers", "awq", "gptq", "exl2", "mlx", "onnx", "fp16", "bf16", "fp8"}


@dataclass(frozen=True)
class LocalFile:
    name: str  # relative path in the model folder
    original_name: str
    sha256: str | None
    size: int
    role: str


@dataclass(frozen=True)
class Subject:
    """What a lookup needs from a model, copied out so lookups never touch the library."""

    model_id: str
    name: str  # the name it arrived with (file or folder)
    files: tuple[LocalFile, ...]
    hints: tuple[str, ...]  # repo ids worth checking first

    @classmethod
    def of(cls, meta: ModelMetadata, endpoint: str) -> Subject:
        files = tuple(
            LocalFile(f.name, f.original_name, f.sha256, f.size, f.role) for f in meta.files
        )
        if not files and meta.hashes.sha256 and meta.primary_file:
            files = (LocalFile(meta.primary_file, meta.original_name or meta.primary_file, meta.hashes.sha256,
                               meta.size_bytes, "weights"),)
        hints = []
        if meta.hub_repo:
            hints.append(meta.hub_repo)
        repo = repo_from_url(meta.download_url, endpoint)
        if repo and repo not in hints:
            hints.append(repo)
        return cls(meta.model_id, meta.original_name or meta.cleaned_name, files, tuple(hints))

    @property
    def weights(self) -> list[LocalFile]:
        w = [f for f in self.files if f.role == "weights"]
        return w or list(self.files)


_HF_HOSTS = ("https://huggingface.co/", "https://hf.co/", "http://huggingface.co/")
_REPO_RE = re.compile(r"^([A-Za-z0-9][\w.\-]*/[\w.\-]+)")


def repo_from_url(url: str | None, endpoint: str) -> str | None:
    if not url:
        return None
    for prefix in (endpoint.rstrip("/") + "/", *_HF_HOSTS):
        if url.startswith(prefix):
            rest = url[len(prefix):]
            if rest.startswith(("api/", "datasets/", "spaces/")):
                return None
            m = _REPO_RE.match(rest)
            return m.group(1) if m else None
    return None


@dataclass
class LookupResult:
    match_method: str = "none"
    confidence: float = 0.0
    badge: str = UNKNOWN
    repo_id: str | None = None
    revision: str | None = None
    snapshot: RepoSnapshot | None = None
    matched: dict[str, str] = field(default_factory=dict)  # local file -> hub path
    hub_sha256: dict[str, str] = field(default_factory=dict)  # for "modified": what the hub has instead
    detail: str = ""

    @property
    def rank(self) -> float:
        """hash > same name (no hash to compare) > same name, other bytes > similar repo name > none."""
        if self.badge == VERIFIED:
            return 4.0
        if self.badge == PROBABLE and self.match_method == "filename_exact":
            return 3.0
        if self.badge == MODIFIED:
            return 2.0
        if self.badge == PROBABLE:
            return 1.0 + self.confidence
        return 0.0


def _basename(path: str) -> str:
    return path.rsplit("/", 1)[-1].lower()


def compare(subject: Subject, snap: RepoSnapshot, name_score: float) -> LookupResult:
    """How well one repo's files explain our files."""
    weights = subject.weights
    by_sha = snap.by_sha256()
    by_name: dict[str, list[HubFile]] = {}
    for f in snap.files:
        by_name.setdefault(_basename(f.path), []).append(f)

    matched = {}
    for lf in weights:
        if lf.sha256 and lf.sha256 in by_sha:
            matched[lf.name] = by_sha[lf.sha256].path
    base = LookupResult(repo_id=snap.repo_id, revision=snap.sha, snapshot=snap)
    if weights and len(matched) == len(weights):
        base.match_method, base.confidence, base.badge, base.matched = "hash", 1.0, VERIFIED, matched
        base.detail = "sha256 matches the hub's LFS sha256" + (" for every file" if len(weights) > 1 else "")
        return base

    same_name, other_bytes = {}, {}
    for lf in weights:
        if lf.name in matched:
            continue
        for key in {_basename(lf.original_name), _basename(lf.name)}:
            for hf in by_name.get(key, []):
                same_name[lf.name] = hf.path
                if hf.sha256 and lf.sha256 and hf.sha256 != lf.sha256:
                    other_bytes[lf.name] = hf.sha256
    if other_bytes or (matched and len(matched) < len(weights)):
        base.match_method, base.badge = "filename_exact", MODIFIED
        base.confidence = 0.5 if other_bytes else 0.4
        base.matched = {**matched, **same_name}
        base.hub_sha256 = other_bytes
        base.detail = (
            f"the repo has {', '.join(sorted(same_name.values()) or sorted(matched.values()))} "
            "but not with these bytes"
        )
        return base
    if same_name:
        base.match_method, base.badge, base.confidence = "filename_exact", PROBABLE, 0.8
        base.matched = same_name
        base.detail = "a file of the same name is in the repo (the hub gives no hash for it)"
        return base
    if name_score >= MIN_SCORE:
        base.match_method, base.badge = "filename_fuzzy", PROBABLE
        base.confidence = round(min(0.7, 0.7 * name_score / 100.0), 3)
        base.detail = f"the repo's name resembles the model's ({name_score:.0f}/100)"
        return base
    return LookupResult(detail="no repo matched")


def name_score(subject_name: str, repo_id: str) -> float:
    ours = names.comparable(subject_name)
    repo_name = repo_id.rsplit("/", 1)[-1]
    theirs = " ".join(w for w in names.comparable(repo_name).split() if w not in _FORMAT_WORDS)
    if not ours or not theirs:
        return 0.0
    return max(fuzz.token_set_ratio(ours, theirs), fuzz.ratio(ours, theirs))


def _sharing_bytes(subject: Subject, snaps: list[RepoSnapshot]) -> list[RepoSnapshot]:
    """Known repos holding at least one of our files' bytes: the best candidates there are."""
    shas = {f.sha256 for f in subject.weights if f.sha256}
    if not shas:
        return []
    return [s for s in snaps if shas & set(s.by_sha256())]


class Lookup:
    """One batch's lookups: shares the client (budget, deadline, outage) and the cache."""

    def __init__(self, client: HubClient, cache: HubCache) -> None:
        self.client = client
        self.cache = cache
        self._known: list[RepoSnapshot] | None = None  # fresh cached snapshots, read once per batch

    def known(self) -> list[RepoSnapshot]:
        if self._known is None:
            self._known = self.cache.fresh_repos()
        return self._known

    def snapshot(self, repo_id: str, revision: str = "main", *, fresh: bool = False) -> RepoSnapshot:
        if not fresh:
            snap = self.cache.get_repo(repo_id, revision)
            if snap is not None:
                return snap
        snap = self.client.snapshot(repo_id, None if revision == "main" else revision)
        self.cache.put_repo(snap)
        if self._known is not None:
            self._known.append(snap)
        return snap

    def search(self, query: str) -> SearchResult:
        res = self.cache.get_search(query)
        if res is None:
            res = SearchResult(query=query, hits=self.client.search(query, limit=SEARCH_LIMIT))
            self.cache.put_search(res)
        return res

    def candidates(self, subject: Subject) -> list[tuple[str, float]]:
        """(repo id, name score), best first."""
        scored: dict[str, tuple[float, int]] = {}
        for term in names.search_terms(subject.name):
            res = self.search(term)
            for hit in res.hits:
                s = name_score(subject.name, hit.repo_id)
                if s >= MIN_SCORE:
                    scored[hit.repo_id] = max(scored.get(hit.repo_id, (0, 0)), (s, hit.downloads))
            if scored:
                break  # the specific term found something; the broad one would only add noise
        ranked = sorted(scored.items(), key=lambda kv: (-kv[1][0], -kv[1][1], kv[0]))
        return [(repo, s) for repo, (s, _) in ranked[:MAX_CANDIDATES]]

    def run(self, subject: Subject) -> LookupResult:
        """Raises HubUnavailable when the answer is not complete (the model stays pending)."""
        best = LookupResult(detail="no repo matched")
        for snap in _sharing_bytes(subject, self.known()):
            res = compare(subject, snap, 100.0)
            if res.badge == VERIFIED:
                return res  # no request at all
            if res.rank > best.rank:
                best = res
        seen: set[str] = set()
        queue: list[tuple[str, float]] = [(r, 100.0) for r in subject.hints]
        checked_search = False
        while True:
            if not queue:
                if checked_search:
                    break
                checked_search = True
                queue = [(r, s) for r, s in self.candidates(subject) if r not in seen]
                if not queue:
                    break
            repo, score = queue.pop(0)
            if repo in seen:
                continue
            seen.add(repo)
            try:
                snap = self.snapshot(repo)
            except HubRefused:
                continue  # gone, private or gated: not our repo to judge
            res = compare(subject, snap, score)
            if res.rank > best.rank:
                best = res
            if best.badge == VERIFIED:
                break
        return best

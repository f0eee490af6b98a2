"""The rule base: cited clinical knowledge loaded from ``rules.toml`` and validated at start-up."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from importlib import resources
from typing import Any

from cds_service.core.recommendations import Citation


class KnowledgeError(Exception):
    """The rule base is malformed; the service must not start with it."""


@dataclass(frozen=True, slots=True)
class Knowledge:
    """The validated rule base.

    Attributes:
        version: Version of the rule base, shown on every card.
        sources: Citable sources by id.
    """

    version: str
    sources: dict[str, Citation]


def load_knowledge(text: str | None = None) -> Knowledge:
    """Load and validate the rule base (the packaged ``rules.toml`` unless ``text`` is given)."""
    if text is None:
        text = resources.files("cds_service.core").joinpath("rules.toml").read_text("utf-8")
    try:
        data: dict[str, Any] = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise KnowledgeError(f"rules.toml is not valid TOML: {exc}") from exc
    version = data.get("version")
    if not isinstance(version, str) or not version:
        raise KnowledgeError("rules.toml: 'version' must be a non-empty string")
    sources: dict[str, Citation] = {}
    for source_id, entry in data.get("sources", {}).items():
        try:
            sources[source_id] = Citation(
                source_id=source_id,
                label=entry["label"],
                document=entry["document"],
                section=entry.get("section", ""),
                url=entry.get("url"),
                newer=bool(entry.get("newer", False)),
                status=entry.get("status"),
            )
        except (KeyError, TypeError) as exc:
            raise KnowledgeError(f"rules.toml: source {source_id!r} is incomplete: {exc}") from exc
    if not sources:
        raise KnowledgeError("rules.toml: no sources defined")
    return Knowledge(version=version, sources=sources)

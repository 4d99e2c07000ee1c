"""`reconciler output`: the live identifiers as JSON (schemas/output.schema.json) or as
KEY=VALUE lines that a pipeline appends to `$GITHUB_OUTPUT` or a GitLab dotenv report."""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING

from reconciler.errors import ConfigError, RefusedError
from reconciler.util.text import printable

if TYPE_CHECKING:
    from reconciler.state.outputs import Outputs


def output_json(outputs: Outputs) -> str:
    return json.dumps(outputs.to_dict(), indent=2) + "\n"


def _key(*parts: str) -> str:
    # Bucket names are a-z 0-9 '-', index names add '.': neither has '_', so '__' between the
    # bucket and the index cannot be produced by a name itself.
    return "__".join(re.sub(r"[^A-Za-z0-9]", "_", p).upper() for p in parts)


def output_text(outputs: Outputs) -> str:
    """One `KEY=VALUE` line per identifier, keys usable as shell, GitHub Actions output and
    dotenv variable names: `BUCKET_RAG_PROD_TRN`, `INDEX_RAG_PROD__DOCS_V1_DIMENSION`."""
    lines: dict[str, str] = {}  # all checked before any is returned: never half the variables

    def put(key: str, value: object) -> None:
        if key in lines:  # `docs-v1` and `docs.v1` in one bucket would share a key
            raise ConfigError(f"output: two resources map to the variable {key}; use --format json")
        text = "" if value is None else str(value)
        if not text.isprintable():
            # Appended to $GITHUB_OUTPUT or a dotenv report, a line break in a value the
            # service chose (a TRN) would set a variable of its choosing for later steps.
            bad = next(c for c in text if not c.isprintable())
            raise RefusedError(f"output: the service's value for {key} holds {printable(bad)} (a line break or "
                               "control character), which KEY=VALUE lines cannot carry; nothing was written; "
                               "use --format json, which escapes it")
        lines[key] = text

    for b in outputs.buckets:
        d = b.to_dict()
        for field in ("trn", "endpoint", "creation_time"):
            put("BUCKET_" + _key(b.name) + "_" + field.upper(), d[field])
        for i in b.indexes:
            di = i.to_dict()
            for field in ("trn", "creation_time", "dimension", "distance_metric", "data_type"):
                put("INDEX_" + _key(b.name, i.name) + "_" + field.upper(), di[field])
            put("INDEX_" + _key(b.name, i.name) + "_NON_FILTERABLE_METADATA_KEYS",
                ",".join(di["non_filterable_metadata_keys"]))
    return "".join(f"{k}={v}\n" for k, v in lines.items())

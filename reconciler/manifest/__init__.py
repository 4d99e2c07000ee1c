"""Manifests: YAML files of vector buckets, indexes and bucket policies, loaded into a
validated, frozen `Manifest`.

    manifest = load_manifests(["manifests/"], parse_var_assignments(["ENV=prod"]))

Pipeline (every step collects Diagnostics; all errors are raised together as one
ManifestError sorted by file:line:col, warnings are returned in `Manifest.warnings`):

1. paths -> files: a directory gives its `*.yaml` / `*.yml` files (not recursive, sorted).
2. files -> documents: safe YAML only (an object-constructing tag such as
   `!!python/object` is an error, never executed), multi-document, empty documents
   skipped, duplicate keys rejected, every value and key located.
3. `${VAR}` / `${VAR:-default}` interpolation in string values (--var first, then the
   environment; `$${` is a literal `${`; an undefined variable is an error).
4. Schema-guided conversion: a `${VAR}` string where the schema wants an integer or a
   boolean becomes one when it spells one (`dimension: ${DIM}`; booleans are true or
   false in any case, written or interpolated: YAML 1.1's yes/no/on/off are strings, as
   in YAML 1.2 and every editor, and refused with a hint); an unquoted number where the
   schema wants a string becomes its text (`account: 2100000001`). A string that is or
   contains the value of a secret variable, under any name, is an error.
5. JSON Schema (schemas/manifest.schema.json, without the `${VAR}` branches that let
   editors accept a reference in a typed field) validation with readable messages.
6. Semantic checks: names, duplicates across all files, policies (mapping, JSON string
   or policyFile), prune patterns, conflicting account/region; policy lint warnings.
7. Access tests (`accessTests`), evaluated against the declared policy; a failure is an
   error at the test.

Owns: the manifest format and its diagnostics (file:line:col). May import: rules (names,
limits, policy documents and their evaluation), util, errors.
"""

from reconciler.manifest._interpolate import parse_var_assignments
from reconciler.manifest._loader import load_manifests
from reconciler.manifest._schema import SCHEMA_FILE
from reconciler.manifest._varfile import read_var_files
from reconciler.manifest.model import AccessTest, BucketSpec, IndexSpec, Manifest, Source

__all__ = [
    "SCHEMA_FILE",
    "AccessTest",
    "BucketSpec",
    "IndexSpec",
    "Manifest",
    "Source",
    "load_manifests",
    "parse_var_assignments",
    "read_var_files",
]

"""What exists in the service.

Owns: the live state as pure data and the prune scope rules (`model`: `LiveState`,
`LiveBucket`, `LiveIndex`, `in_prune_scope`), the concurrent reads that fill it
(`refresh`) and the manifest of what is live (`export`, built on the same reads).
May import: client (the reads go through its Protocols), manifest (the scope to read),
rules, util, errors. `model` alone is pure: the plan and the renderers import it.
"""

"""The plan as a value: what `apply` will do, and nothing else.

Owns: the frozen `Plan`/`Change`/`Action` model and the dependency order (`model`),
building a plan from the desired and the live state (`build`, pure), comparing attributes
(`diff`, the one use of deepdiff), the drift report read from a plan (`drift`) and the
saved plan file: form, checks, signature (`planfile`).
May import: state (its pure model only), manifest (the desired model), rules, util,
errors. No I/O below `planfile`'s reading and writing of the file a user names; no
client, no emulator, no event loop (tests/test_layout.py and tests/test_pure_core.py).
"""

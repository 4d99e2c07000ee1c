"""reconciler: a Terraform-style declarative reconciler for TOS Vectors.

The tree reads as the data flows, top to bottom; a package imports only those below it
(tests/test_layout.py holds these rules):

    cli/        flags, the target, one function per verb, exit codes (nothing imports it)
    engine.py   the workflows: refresh -> plan -> probe -> guard -> apply
    render/     text | json | markdown | graph | drift | apply | access: pure functions
    apply/      guardrails (consent, for every caller) + executor (the only writes)
    plan/       the plan as a value: model, build (pure), diff, drift, planfile
    state/      what exists: the pure model, refresh and export (the reads)
    manifest/   files -> the desired model (YAML, interpolation, schema, positions)
    client/     the async API client, usable on its own
    emulator/   the local service (routes, parsers, handlers, store, search, auth)
    rules/      the service's rules: names and limits, resource kinds, policy documents
                and their evaluation
    util/       files, text, secrets, tasks, schema checking, argparse types
    errors.py   the one error tree
"""

__version__ = "0.1.0"

"""The service's rules, read by everything above them.

Owns: names, limits, the default endpoint and JSON type names (`names`), the resource
kinds described once, with their addresses, order, attributes and what a delete
destroys (`kinds`), bucket policy documents: parsing, canonical form, lint (`policy`),
and policy evaluation: who may do what, what a change grants or revokes (`access`).
Where the rules come from: names and limits, the API reference and README "Wire protocol" §0 and §5;
evaluation, README.md, "Access"; policy comparison, README.md, "How it works".
May import: util only. Pure: no I/O, no client, no event loop; the manifest, the state,
the plan, the guardrails, the renderers and the emulator all read these modules.
"""

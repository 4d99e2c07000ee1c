"""Carrying a plan out.

Owns: what apply refuses before the first call, decided from the plan itself for every
caller (`guardrails`: consent to destroy and to open access), the executor, the only
place that writes (`executor`: the DAG of steps dispatched by (kind, action)), and the
results it returns as plain data (`result`, which the renderers read).
May import: plan, rules, client (the write Protocol), util, errors.
"""

"""Small pieces the other packages share, knowing nothing of the service.

Owns: reading and writing the files a user names without surprises (`files`), text that
cannot be written out and escaping for terminals (`text`), the secret values and their
masking (`secrets`), running awaitables that die together (`tasks`), a JSON Schema with
a fast and a detailed validator (`schemacheck`), argparse types (`argtypes`) and
whether the process runs in CI (`ci`).
May import: errors only.
"""

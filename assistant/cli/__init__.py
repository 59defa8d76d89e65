"""The `paper-assistant` command: `main` with an explicit list of command groups, one module each.

Commands are thin: they build the app through `assistant.app.build`, call the same pipeline the UI uses, and
print. Each imports heavy libraries only when it runs, so `--help` starts fast.
"""

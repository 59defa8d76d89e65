"""Answer: what a question asks (`intent`), what to retrieve for it (`plan`), which sentences of each source go in
the prompt (`context`), the prompt files (`prompts`), checking [n] markers against the sources (`citations`),
and the run that ties them together (`pipeline`).

It uses `search/` to find papers and `llms/` to generate; pages, commands and the API are above it.
"""

"""The eval: question files and metrics (`metrics`), running a pipeline over them (`runner`), reports and
plots (`report`), and the naive llama-index baseline (`naive`).

It measures the same pipeline the page uses; the question splits live in the repository's `eval/` folder.
"""

# The question types of the eval files; here, not in `metrics`, so the CLI can offer them without loading it.
TYPES = ("factual", "comparison", "topic", "unanswerable")

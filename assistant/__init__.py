"""Paper Assistant: answers questions across research-paper abstracts, citing the papers it used."""

__version__ = "0.1.0"

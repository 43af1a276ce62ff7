"""sample: the shipped sample class (``submissions/``) and the script that regenerates it."""

"""Tables, curves and detection comparisons of finished experiments.

Never imported by ``custom_modules/__init__.py``; import the submodules
directly. matplotlib is imported inside the plotting functions only.
"""

"""autolabel: self-hostable auto-annotation for machine-learning datasets."""

__version__ = "0.1.0"

"""Tools for people who run autolabel (not part of the package): `make smoke-aws`."""

"""The manufacturer import of devices and keys (see service.py)."""

"""meterkms: key management for smart-meter and IoT device keys."""

__version__ = "0.1.0"

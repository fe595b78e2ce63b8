"""Shared pieces of the Stemdeck model zoo: STFT as the engine does it, losses, export helpers."""

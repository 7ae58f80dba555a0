"""Helpers shared by the library and the command-line tools."""
from .config import build_runner, load_config

__all__ = ['build_runner', 'load_config']

"""ftvsrag: measure whether fine-tuning or retrieval answers questions about a knowledge base."""

__version__ = "0.1.0"

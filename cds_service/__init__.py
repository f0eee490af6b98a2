"""CRLM CDS Hooks service: decision support for colorectal cancer with liver metastases."""

__version__ = "0.1.0"

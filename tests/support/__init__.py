"""Test-only code the service never imports."""

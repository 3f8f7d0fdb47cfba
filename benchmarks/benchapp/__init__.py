"""The app whose ``jobs.py`` holds the benchmark's job definitions."""

"""Slack surface: Bolt app, listeners, commands, emulator and entry point."""

"""Dock widgets, dialogs and menus of the plugin."""

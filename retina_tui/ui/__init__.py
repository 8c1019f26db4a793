"""The Textual application: cluster browser, session tabs, split view."""

"""The review app (Flask): list, read and mark change reports; see monitor.web.app."""

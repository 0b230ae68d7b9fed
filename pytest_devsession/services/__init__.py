"""Services that run on their own, beside the plugin: the capture server (``capture``), which the local
backend embeds or drives, and which ``python -m pytest_devsession.local`` runs standalone."""

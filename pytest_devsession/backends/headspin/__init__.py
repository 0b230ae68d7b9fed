"""HeadSpin as a backend: its options and settings section (``plugin``, ``settings``), the backend over its
Session and Performance Monitoring APIs (``backend``) and their routes (``routes``)."""

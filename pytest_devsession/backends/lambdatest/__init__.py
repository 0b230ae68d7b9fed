"""LambdaTest as a backend: its options and settings section (``plugin``, ``settings``), the backend over its
Selenium hub and Automation API (``backend``), the remote browser and the masking of the access key
(``browser``), the full HAR's ZIP merged into one HAR (``har``), the JSON logs as text (``logs``), and the
routes of all of it (``routes``)."""
